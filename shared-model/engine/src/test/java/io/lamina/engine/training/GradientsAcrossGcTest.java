package io.lamina.engine.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraInit;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Regression for "training diverged: loss NaN" that only showed up now and then (more often with
 * other threads busy in the JVM): DJL's {@code NDArray.mul(Number)}/{@code div(Number)} wrap the
 * scalar in a tensor over a Java direct buffer and close that wrapper right after the op, but
 * autograd keeps the scalar tensor for backward. A garbage collection between forward and backward
 * freed the buffer, and backward multiplied by whatever then lay in that memory. These tests put a
 * collection exactly there: gradients must not change.
 */
class GradientsAcrossGcTest {
    private static final BaseModel BASE = BaseModel.miniLm();

    /** Gives the collector and the JDK cleaner a chance to free every unreachable direct buffer. */
    private static void collectGarbage() {
        for (int i = 0; i < 4; i++) {
            System.gc();
            try {
                Thread.sleep(25);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            // fresh direct buffers full of NaN, likely to land where freed ones were
            for (int j = 0; j < 200; j++) ByteBuffer.allocateDirect(4).putFloat(0, Float.NaN);
        }
    }

    /** Gradients of {@code loss.get()} with respect to {@code params}, flattened; the loss is built inside a collector. */
    private static float[] gradients(Supplier<NDArray> loss, List<NDArray> params, boolean gcBeforeBackward) {
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray l = loss.get();
                if (gcBeforeBackward) collectGarbage();
                collector.backward(l);
            }
            boolean grad = Autograd.disable();
            try {
                List<float[]> parts = new ArrayList<>();
                int n = 0;
                for (NDArray p : params) {
                    NDArray g = p.getGradient();
                    float[] part = g.toFloatArray();
                    g.subi(g);
                    parts.add(part);
                    n += part.length;
                }
                float[] out = new float[n];
                int at = 0;
                for (float[] part : parts) {
                    System.arraycopy(part, 0, out, at, part.length);
                    at += part.length;
                }
                return out;
            } finally {
                Autograd.restore(grad);
            }
        }
    }

    private static NDArray leaf(NDManager m, float[] values, Shape shape) {
        NDArray a = m.create(values, shape);
        a.setRequiresGradient(true);
        return a;
    }

    private static float[] gaussian(Random r, int n, float scale) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) r.nextGaussian() * scale;
        return out;
    }

    @Test
    void loraGradientsOfTheEncoderSurviveAGcBetweenForwardAndBackward() {
        LoraSpec spec = new LoraSpec(4, 8f, 0f, List.of("query", "value"));
        Map<String, HostTensor> init = LoraInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), 11);
        Random r = new Random(5);
        List<long[]> ids = BASE.tokenize(TinyTasks.things().stream().map(LabeledText::text).limit(4).toList(), 32);
        try (NDManager m = BASE.manager().newSubManager()) {
            int targets = spec.targetModules().size();
            NDArray[][] a = new NDArray[BASE.layers()][targets];
            NDArray[][] b = new NDArray[BASE.layers()][targets];
            List<NDArray> params = new ArrayList<>();
            for (int l = 0; l < BASE.layers(); l++) {
                for (int t = 0; t < targets; t++) {
                    HostTensor ha = init.get(LoraSpec.peftKey(l, spec.targetModules().get(t), 'A'));
                    a[l][t] = leaf(m, ha.data(), new Shape(ha.shape()));
                    b[l][t] = leaf(m, gaussian(r, BASE.hiddenSize() * spec.rank(), 0.05f), new Shape(BASE.hiddenSize(), spec.rank()));
                    params.add(a[l][t]);
                    params.add(b[l][t]);
                }
            }
            LoraArrays lora = new LoraArrays(spec, a, b);
            NDArray direction = m.create(gaussian(r, ids.size() * BASE.hiddenSize(), 1f), new Shape(ids.size(), BASE.hiddenSize()));
            Supplier<NDArray> loss = () -> BASE.encode(m, ids, lora, false).mul(direction).sum();

            float[] reference = gradients(loss, params, false);
            float[] afterGc = gradients(loss, params, true);
            assertThat(reference).doesNotContain(Float.NaN);
            assertThat(afterGc).containsExactly(reference);
        }
    }

    @Test
    void headLossGradientsSurviveAGcBetweenForwardAndBackward() {
        Random r = new Random(7);
        int[] labels = {0, 2, 1, 2, 0, 1};
        try (NDManager m = BASE.manager().newSubManager()) {
            NDArray embeddings = leaf(m, gaussian(r, labels.length * 16, 1f), new Shape(labels.length, 16));
            NDArray prototypes = leaf(m, gaussian(r, 3 * 16, 1f), new Shape(3, 16));
            Supplier<NDArray> loss = () -> LoraTrainer.headLoss(m, embeddings.normalize(2, 1, 1e-12), prototypes, labels, 3);

            float[] reference = gradients(loss, List.of(embeddings, prototypes), false);
            float[] afterGc = gradients(loss, List.of(embeddings, prototypes), true);
            assertThat(reference).doesNotContain(Float.NaN);
            assertThat(afterGc).containsExactly(reference);
        }
    }

    /** End to end: a run with the collector hammering away in another thread trains exactly like a quiet one. */
    @Test
    void trainingIsUnaffectedByGarbageCollectionInOtherThreads() throws InterruptedException {
        List<LabeledText> data = TinyTasks.things();
        List<String> labels = List.of("animal", "vehicle", "food");
        TrainingSpec spec = new TrainingSpec(1, 5, 3e-3f, 0.01f, 0.1f, 1.0f, 1234L, 16, 0); // 3 steps
        LoraSpec lora = LoraSpec.defaults();
        Adapter quiet = new LoraTrainer(BASE).train(new TrainingRequest(data, labels, lora, spec, null, null, null, Map.of()));

        AtomicBoolean stop = new AtomicBoolean();
        Thread collector = new Thread(() -> {
            while (!stop.get()) {
                System.gc();
                for (int j = 0; j < 200; j++) ByteBuffer.allocateDirect(4).putFloat(0, Float.NaN);
                try {
                    Thread.sleep(2); // leave the trainer some CPU on small machines
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "gc-hammer");
        collector.setDaemon(true);
        collector.start();
        Adapter noisy;
        try {
            noisy = new LoraTrainer(BASE).train(new TrainingRequest(data, labels, lora, spec, null, null, null, Map.of()));
        } finally {
            stop.set(true);
            collector.join();
        }
        for (String key : quiet.weights().keySet()) {
            assertThat(noisy.weights().get(key).data()).as(key).containsExactly(quiet.weights().get(key).data());
        }
        assertThat(noisy.provenance().details().get("final-loss")).isEqualTo(quiet.provenance().details().get("final-loss"));
    }
}

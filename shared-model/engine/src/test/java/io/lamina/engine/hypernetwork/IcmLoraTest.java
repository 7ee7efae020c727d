package io.lamina.engine.hypernetwork;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.ProgressListener;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

class IcmLoraTest {
    /** A small LoRA-like layout (D = 1,000) and a small network, so these run in seconds. */
    private static final IcmLora.Spec SMALL = new IcmLora.Spec(new int[]{4, 8, 8, 8}, 7, 16, 0.005f, 8);

    private static LoraFlattening.Flattened checkpoint(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, HostTensor> w = new TreeMap<>();
        for (String k : List.of("layer.0.lora_A", "layer.0.lora_B")) {
            float[] v = new float[500];
            for (int i = 0; i < v.length; i++) v[i] = (float) (Math.sin(i * (0.05 + seed * 0.01)) + 0.1 * r.nextGaussian());
            w.put(k, new HostTensor(new long[]{20, 25}, v));
        }
        return LoraFlattening.flatten(w);
    }

    private static float[] condition(float... v) {
        return v;
    }

    private static double mse(float[] a, float[] b, int n) {
        double s = 0;
        for (int i = 0; i < n; i++) s += (a[i] - b[i]) * (double) (a[i] - b[i]);
        return s / n;
    }

    @Test
    void klTermMatchesItsClosedForm() {
        float[] mu = {0.5f, -1f, 2f, 0f, 0.3f, -0.7f};
        float[] logvar = {0f, -0.5f, 1f, 0.2f, -2f, 0.4f};
        double expected = 0;
        for (int b = 0; b < 2; b++) {
            double sum = 0;
            for (int j = 0; j < 3; j++) {
                int i = b * 3 + j;
                sum += 1 + logvar[i] - mu[i] * mu[i] - Math.exp(logvar[i]);
            }
            expected += -0.5 * sum;
        }
        expected /= 2;
        try (NDManager mgr = Engine.getInstance().newBaseManager()) {
            NDArray kl = IcmLora.klDivergence(mgr, mgr.create(mu, new Shape(2, 3)), mgr.create(logvar, new Shape(2, 3)));
            assertThat((double) kl.getFloat()).isCloseTo(expected, offset(1e-5));
            // zero for the prior itself
            assertThat(IcmLora.klDivergence(mgr, mgr.zeros(new Shape(2, 3)), mgr.zeros(new Shape(2, 3))).getFloat()).isEqualTo(0f);
        }
    }

    @Test
    void padsToAMultipleOfTwoToTheBlocks() {
        IcmLora.Spec twelve = new IcmLora.Spec(new int[]{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}, 7, 8, 0.005f, 0);
        assertThat(IcmLora.paddedDimension(10_000, twelve)).isEqualTo(12_288);
        assertThat(IcmLora.paddedDimension(73_728, IcmLora.Spec.defaults())).isEqualTo(73_728);
        assertThat(IcmLora.paddedDimension(1_000, SMALL)).isEqualTo(1_008);
    }

    @Test
    void withoutKlASingleCheckpointIsReconstructedAndSavedGeneratorsGenerateTheSame() {
        LoraFlattening.Flattened only = checkpoint(1);
        float[] c = condition(1f, 0f, 0f);
        float[] before = IcmLora.train(SMALL.withKldWeight(0f), List.of(new IcmLora.Checkpoint(only, c)),
                new IcmLora.Training(1, 1, 1e-3f, 0f, 1L), ProgressListener.NONE).reconstruct(only.values(), c);
        IcmLora trained = IcmLora.train(SMALL.withKldWeight(0f), List.of(new IcmLora.Checkpoint(only, c)),
                new IcmLora.Training(300, 1, 3e-3f, 0.05f, 1L), ProgressListener.NONE);
        float[] after = trained.reconstruct(only.values(), c);
        double start = mse(before, only.values(), only.dimension());
        double end = mse(after, only.values(), only.dimension());
        assertThat(end).as("reconstruction MSE after overfitting (was %s)", start).isLessThan(0.05).isLessThan(start / 10);

        // a generated checkpoint for the training condition is (close to) the checkpoint itself, de-normalised
        SortedMap<String, HostTensor> generated = trained.generate(c, 0f, 0L);
        SortedMap<String, HostTensor> original = LoraFlattening.unflatten(only.values(), only.slots());
        assertThat(generated.keySet()).isEqualTo(original.keySet());
        assertThat(generated.get("layer.0.lora_A").shape()).containsExactly(20, 25);

        IcmLora loaded = IcmLora.fromSafetensors(trained.toSafetensors());
        assertThat(loaded.generate(c, 0f, 0L)).isEqualTo(generated);
        assertThat(loaded.parameterCount()).isEqualTo(trained.parameterCount());
    }

    @Test
    void differentConditionsGiveDifferentAdapters() {
        List<IcmLora.Checkpoint> data = new ArrayList<>();
        data.add(new IcmLora.Checkpoint(checkpoint(1), condition(1f, 0f, 0f)));
        data.add(new IcmLora.Checkpoint(checkpoint(5), condition(0f, 1f, 0f)));
        IcmLora trained = IcmLora.train(SMALL, data, new IcmLora.Training(150, 2, 3e-3f, 0.05f, 2L), ProgressListener.NONE);
        float[] z = new float[SMALL.latent()];
        float[] a = trained.decode(z, condition(1f, 0f, 0f));
        float[] b = trained.decode(z, condition(0f, 1f, 0f));
        double gap = mse(a, b, 1000);
        assertThat(gap).as("decoded difference between two conditions").isGreaterThan(0.05);
        // and each condition decodes nearer to its own task's checkpoint than to the other's
        assertThat(mse(a, data.get(0).weights().values(), 1000)).isLessThan(mse(a, data.get(1).weights().values(), 1000));
        assertThat(mse(b, data.get(1).weights().values(), 1000)).isLessThan(mse(b, data.get(0).weights().values(), 1000));
    }

    @Test
    void theReferencesConvolutionalDecoderAloneStillTrains() {
        LoraFlattening.Flattened only = checkpoint(2);
        float[] c = condition(0f, 0f, 1f);
        IcmLora convOnly = IcmLora.train(SMALL.withBasis(0).withKldWeight(0f), List.of(new IcmLora.Checkpoint(only, c)),
                new IcmLora.Training(200, 1, 3e-3f, 0.05f, 1L), ProgressListener.NONE);
        assertThat(mse(convOnly.reconstruct(only.values(), c), only.values(), only.dimension())).isLessThan(1.0);
        assertThat(IcmLora.fromSafetensors(convOnly.toSafetensors()).spec().basis()).isZero();
    }

    @Test
    void refusesMixedLayouts() {
        LoraFlattening.Flattened other = LoraFlattening.flatten(Map.of("x", new HostTensor(new long[]{10}, new float[10])));
        assertThatThrownBy(() -> IcmLora.train(SMALL, List.of(new IcmLora.Checkpoint(checkpoint(1), condition(1f)),
                new IcmLora.Checkpoint(other, condition(1f))), IcmLora.Training.defaults(), ProgressListener.NONE))
                .hasMessageContaining("one LoRA layout");
    }
}

package io.lamina.engine.adapter.mora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.AdapterFixtures;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** MoRA's invariants from METHODS.md §5 on the real encoder. */
class MoraTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");

    private static float[][] weights(NDManager mgr, float[] h, int rows, int rank, RankGate gate) {
        NDArray w = BaseModel.expertWeights(mgr, mgr.create(h, new Shape(rows, rank)), gate);
        float[] flat = w.toFloatArray();
        float[][] out = new float[rows][rank];
        for (int i = 0; i < rows; i++) System.arraycopy(flat, i * rank, out[i], 0, rank);
        return out;
    }

    @Test
    void gateKeepsAtMostTopKIsScaleInvariantAndPrunesOnlyBelowTheThreshold() {
        Random rnd = new Random(3);
        int rows = 20, rank = 12;
        float[] h = new float[rows * rank];
        for (int i = 0; i < h.length; i++) h[i] = (float) rnd.nextGaussian();
        float[] scaled = h.clone();
        for (int i = 0; i < scaled.length; i++) scaled[i] *= 7.5f;
        try (NDManager mgr = BASE.manager().newSubManager()) {
            RankGate gate = new RankGate(0.5f, 4, -1f);
            float[][] w = weights(mgr, h, rows, rank, gate);
            float[][] w7 = weights(mgr, scaled, rows, rank, gate);
            for (int i = 0; i < rows; i++) {
                int active = 0;
                for (int j = 0; j < rank; j++) {
                    if (w[i][j] > 0) active++;
                    assertThat(w7[i][j]).isCloseTo(w[i][j], within(1e-6f));
                }
                assertThat(active).isBetween(1, 4);
            }
            float[][] pruned = weights(mgr, h, rows, rank, new RankGate(0.5f, 4, 0f));
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < rank; j++) {
                    if (h[i * rank + j] < 0) assertThat(pruned[i][j]).isZero();
                    if (pruned[i][j] > 0) assertThat(pruned[i][j]).isEqualTo(w[i][j]);   // pruning only removes
                }
            }
        }
    }

    @Test
    void uniformGateEqualsLoraScaledByOneOverR() {
        LoraSpec spec = new LoraSpec(4, 8f, 0f, List.of("query", "value"));
        Adapter lora = AdapterFixtures.randomAdapter(5, spec, BASE.layers(), BASE.hiddenSize(), THINGS, BASE.fingerprint());
        Map<String, HostTensor> small = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : lora.weights().entrySet()) {
            float[] d = e.getValue().data().clone();
            for (int i = 0; i < d.length; i++) d[i] *= 0.02f;          // keep the update modest
            small.put(e.getKey(), new HostTensor(e.getValue().shape(), d));
        }
        Map<String, HostTensor> quarter = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : small.entrySet()) {
            float[] d = e.getValue().data().clone();
            if (e.getKey().endsWith("lora_B.weight")) for (int i = 0; i < d.length; i++) d[i] /= spec.rank();
            quarter.put(e.getKey(), new HostTensor(e.getValue().shape(), d));
        }
        Adapter uniform = Adapter.mora(spec, small, new RankGate(1e6f, spec.rank(), -1f), lora.head(), BASE.id(), BASE.fingerprint(),
                new AdapterProvenance("test", Map.of()));
        Adapter scaledLora = Adapter.lora(spec, quarter, lora.head(), BASE.id(), BASE.fingerprint(), new AdapterProvenance("test", Map.of()));
        List<String> texts = List.of("a cat sat on the mat", "the train left the station late");
        float[][] m = BASE.embed(texts, uniform), l = BASE.embed(texts, scaledLora), b = BASE.embed(texts, null);
        float moved = 0;
        for (int i = 0; i < texts.size(); i++) {
            for (int j = 0; j < m[i].length; j++) {
                assertThat(m[i][j]).isCloseTo(l[i][j], within(2e-5f));
                moved = Math.max(moved, Math.abs(m[i][j] - b[i][j]));
            }
        }
        assertThat(moved).as("the update is not trivially zero").isGreaterThan(1e-4f);
    }

    @Test
    void aContinuationAddsExpertsAndLeavesTheEarlierOnesBitIdentical() {
        List<LabeledText> data = TinyTasks.things();
        LoraSpec four = new LoraSpec(4, 8f, 0f, List.of("query", "value"));
        TrainingSpec spec = new TrainingSpec(1, 8, 3e-3f, 0.01f, 0.1f, 1f, 7L, 32, 0);
        RankGate gate = RankGate.defaults();
        LoraTrainer trainer = new LoraTrainer(BASE);
        Adapter first = trainer.train(new TrainingRequest(data, THINGS, four, spec, null, null, null, Map.of(), null, gate));
        assertThat(first.kind()).isEqualTo(AdapterKind.MORA);
        assertThat(first.spec().rank()).isEqualTo(4);
        Adapter second = trainer.train(new TrainingRequest(data, THINGS, four, spec.withSeed(8), first, null, null, Map.of(), null, gate));
        assertThat(second.spec().rank()).isEqualTo(8);
        assertThat(second.provenance().details()).containsEntry("frozen-experts", "4");
        for (Map.Entry<String, HostTensor> e : first.weights().entrySet()) {
            HostTensor joined = second.weights().get(e.getKey());
            float[] old = e.getValue().data();
            if (e.getKey().endsWith("lora_A.weight")) {
                for (int i = 0; i < old.length; i++) assertThat(joined.data()[i]).isEqualTo(old[i]);
            } else {                                                   // B: [hidden, r], the first 4 columns
                int hidden = (int) joined.shape()[0];
                for (int r = 0; r < hidden; r++) {
                    for (int c = 0; c < 4; c++) assertThat(joined.data()[r * 8 + c]).isEqualTo(old[r * 4 + c]);
                }
            }
        }
        // the new experts did train, and the adapter survives its file format (not loadable by PEFT as LoRA)
        assertThat(second.weights()).isNotEqualTo(first.weights());
        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(second));
        assertThat(back.gate()).isEqualTo(gate);
        assertThat(back.kind()).isEqualTo(AdapterKind.MORA);
        assertThat(new String(PeftAdapterFormat.toFiles(second).get(PeftAdapterFormat.CONFIG))).contains("\"peft_type\" : \"LAMINA_MORA\"");
        float[][] a = BASE.embed(List.of("a red bus"), second), c = BASE.embed(List.of("a red bus"), back);
        assertThat(a[0]).containsExactly(c[0]);
    }
}

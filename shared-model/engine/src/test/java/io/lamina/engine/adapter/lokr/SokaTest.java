package io.lamina.engine.adapter.lokr;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;

/** SoKA (KPSVD-initialised Kronecker sums with a frozen initial copy) on the real MiniLM weights. */
class SokaTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> TEXTS = List.of("a small boat on the lake", "bake the muffins in a hot oven until golden");
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");

    @Test
    void startsAtTheBaseModelTrainsOnlyItsOwnFactorsAndRoundTrips() {
        SokaSpec spec = new SokaSpec(List.of("query", "value"), -1, 0.9, 2, 4);
        // the initial factors are the top KPSVD components of the pretrained W, in [2, 4] of them
        Map<String, HostTensor> init = SokaInit.initialWeights(spec, 1, 384, 1536, BASE::pretrainedWeight);
        HostTensor a = init.get(SokaSpec.peftKey(0, "query", SokaSpec.A));
        assertThat(a.shape()[0]).isBetween(2L, 4L);
        assertThat(a.shape()).endsWith(16, 16);
        assertThat(init.get(SokaSpec.peftKey(0, "query", SokaSpec.B)).shape()).endsWith(24, 24);
        assertThat(init.get(SokaSpec.peftKey(0, "query", SokaSpec.A0)).data()).isEqualTo(a.data());

        TrainingSpec two = new TrainingSpec(1, 8, 1e-3f, 0.0f, 0.0f, 1.0f, 3L, 32, 0);
        List<LabeledText> data = TinyTasks.things();
        Adapter trained = new LoraTrainer(BASE).train(TrainingRequest.of(data, THINGS, spec, two, null, null, null, Map.of()));
        assertThat(trained.kind()).isEqualTo(AdapterKind.SOKA);
        // at init ΔW = Σ A⊗B − Σ A0⊗B0 = 0 exactly: the trained adapter with its A, B reset to A0, B0 is the base
        Map<String, HostTensor> reset = new java.util.TreeMap<>(trained.weights());
        for (String k : trained.weights().keySet()) {
            if (k.endsWith("." + SokaSpec.A)) reset.put(k, trained.weights().get(k + "0"));
            if (k.endsWith("." + SokaSpec.B)) reset.put(k, trained.weights().get(k + "0"));
        }
        Adapter atInit = Adapter.of(spec, reset, trained.head(), BASE.id(), BASE.fingerprint(), trained.provenance());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, atInit), BASE.embed(TEXTS, null))).isLessThanOrEqualTo(1e-6f);
        // gradients reached the trainable stacks; the frozen copies stayed
        String key = SokaSpec.peftKey(2, "value", SokaSpec.A);
        float moved = 0;
        for (int i = 0; i < trained.weights().get(key).data().length; i++) {
            moved = Math.max(moved, Math.abs(trained.weights().get(key).data()[i] - trained.weights().get(key + "0").data()[i]));
        }
        assertThat(moved).isGreaterThan(1e-5f);
        assertThat(maxAbsDiff(BASE.embed(TEXTS, trained), BASE.embed(TEXTS, null))).isGreaterThan(1e-5f);
        long stacks = 0, all = 0;
        for (Map.Entry<String, HostTensor> e : trained.weights().entrySet()) {
            all += e.getValue().data().length;
            if (e.getKey().endsWith(SokaSpec.A) || e.getKey().endsWith(SokaSpec.B)) stacks += e.getValue().data().length;
        }
        assertThat(trained.trainableParameters()).isEqualTo(stacks + 3L * 384);
        assertThat(stacks * 2).isEqualTo(all);
        System.out.printf("SoKA on %s: %d trainable adapter parameters%n", spec.targetModules(), stacks);

        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(trained));
        assertThat(back.soka()).isEqualTo(spec);
        assertThat(back.weights()).isEqualTo(trained.weights());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back), BASE.embed(TEXTS, trained))).isZero();
        assertThat(new String(PeftAdapterFormat.toFiles(trained).get(PeftAdapterFormat.CONFIG))).contains("\"peft_type\" : \"LAMINA_SOKA\"");
    }
}

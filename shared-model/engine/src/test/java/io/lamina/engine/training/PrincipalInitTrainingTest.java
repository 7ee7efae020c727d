package io.lamina.engine.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.lora.LoraVariant;
import io.lamina.engine.adapter.lora.PrincipalInit;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.model.ResidualWeights;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** PiSSA and CorDA runs on the real MiniLM weights: the start is the base, the result a plain LoRA on the original base. */
class PrincipalInitTrainingTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");
    private static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net",
            "bake the muffins in a hot oven until golden", "Rain");
    /** Query and value as Lamina's default, plus an FFN linear (its residual lives outside the fused Q|K|V). */
    private static final LoraSpec SPEC = new LoraSpec(4, 8f, 0f, List.of("query", "value", "output.dense"));
    /**
     * CorDA on the attention projections only: its damping loop inverts each target's input covariance, which for
     * the FFN output (1536 inputs) costs seconds per layer in double precision; PiSSA covers the FFN target.
     */
    private static final LoraSpec ATTENTION = new LoraSpec(4, 8f, 0f, List.of("query", "value"));
    private static final TrainingSpec TRAINING = new TrainingSpec(2, 5, 1e-3f, 0.01f, 0.1f, 1.0f, 7L, 32, 0);

    /** Embeddings of {@code texts} with {@code factors} (rank-r LoRA, keyed by PEFT keys) on the residual of {@code principal}. */
    private static float[][] onResidual(LoraSpec spec, Map<String, HostTensor> principal, Map<String, HostTensor> factors) {
        boolean grad = Autograd.disable();
        try (NDManager mgr = BASE.manager().newSubManager()) {
            int targets = spec.targetModules().size();
            NDArray[][] a = new NDArray[BASE.layers()][targets], b = new NDArray[BASE.layers()][targets];
            for (int l = 0; l < BASE.layers(); l++) {
                for (int t = 0; t < targets; t++) {
                    HostTensor ha = factors.get(LoraSpec.peftKey(l, spec.targetModules().get(t), 'A'));
                    HostTensor hb = factors.get(LoraSpec.peftKey(l, spec.targetModules().get(t), 'B'));
                    a[l][t] = mgr.create(ha.data(), new Shape(ha.shape()));
                    b[l][t] = mgr.create(hb.data(), new Shape(hb.shape()));
                }
            }
            ResidualWeights residual = BASE.residual(mgr, spec, principal);
            float[] flat = BASE.encode(mgr, BASE.tokenize(TEXTS, 32), residual, new LoraArrays(spec, a, b), false).toFloatArray();
            float[][] out = new float[TEXTS.size()][];
            for (int i = 0; i < out.length; i++) out[i] = java.util.Arrays.copyOfRange(flat, i * 384, (i + 1) * 384);
            return out;
        } finally {
            Autograd.restore(grad);
        }
    }

    /** The run's own rank-r factors: the first r rows of the stored A, the first r columns of the stored B. */
    private static Map<String, HostTensor> trainedHalf(Adapter stored) {
        Map<String, HostTensor> out = new TreeMap<>();
        int r = stored.spec().rank() / 2;
        for (Map.Entry<String, HostTensor> e : stored.weights().entrySet()) {
            HostTensor t = e.getValue();
            int rows = (int) t.shape()[0], cols = (int) t.shape()[1];
            boolean isA = e.getKey().endsWith("lora_A.weight");
            float[] d = new float[isA ? r * cols : rows * r];
            for (int i = 0; i < (isA ? r : rows); i++) {
                for (int j = 0; j < (isA ? cols : r); j++) d[i * (isA ? cols : r) + j] = t.data()[i * cols + j];
            }
            out.put(e.getKey(), new HostTensor(isA ? new long[]{r, cols} : new long[]{rows, r}, d));
        }
        return out;
    }

    @Test
    void atTheStartThePrincipalFactorsOnTheirResidualAreTheBaseModel() {
        float[][] base = BASE.embed(TEXTS, null, 32);
        Map<PrincipalInit.Method, Float> doubled = new java.util.EnumMap<>(PrincipalInit.Method.class);
        for (PrincipalInitialisation init : List.of(PrincipalInitialisation.pissa(),
                new PrincipalInitialisation(PrincipalInit.Method.CORDA_IPM, TinyTasks.sports().stream().map(LabeledText::text).toList()),
                new PrincipalInitialisation(PrincipalInit.Method.CORDA_KPM, TinyTasks.sports().stream().map(LabeledText::text).toList()))) {
            LoraSpec spec = init.method().needsCalibration() ? ATTENTION : SPEC;
            PrincipalStart start = PrincipalStart.of(BASE, spec, init, 32);
            assertThat(start.factors()).hasSize(BASE.layers() * spec.targetModules().size() * 2);
            if (spec == SPEC) assertThat(start.factors().get(LoraSpec.peftKey(0, "output.dense", 'A')).shape()).containsExactly(4, 1536);
            assertThat(maxAbsDiff(onResidual(spec, start.factors(), start.factors()), base)).as(init.method().id()).isLessThan(1e-6f);
            // the same factors on the base itself (no residual) double their components
            doubled.put(init.method(), maxAbsDiff(BASE.embed(TEXTS, Adapter.lora(spec, start.factors(), null, BASE.id(), BASE.fingerprint(), null), 32), base));
        }
        // the largest components move the model far; KPM's smallest ones (oriented by the context) barely, as CorDA intends
        assertThat(doubled.get(PrincipalInit.Method.PISSA)).isGreaterThan(1e-3f);
        assertThat(doubled.get(PrincipalInit.Method.CORDA_IPM)).isGreaterThan(1e-3f);
        assertThat(doubled.get(PrincipalInit.Method.CORDA_KPM)).isLessThan(doubled.get(PrincipalInit.Method.CORDA_IPM) / 10);
    }

    @Test
    void aPissaRunTrainsAndIsStoredAsARankTwoRLoraThatGivesTheTrainedModelOnTheOriginalBase() throws Exception {
        List<Float> losses = new ArrayList<>();
        Adapter a = new LoraTrainer(BASE).train(new TrainingRequest(TinyTasks.things(), THINGS, SPEC, TRAINING, null, p -> losses.add(p.loss()), null, Map.of())
                .withPrincipalInit(PrincipalInitialisation.pissa()));
        // the start is the base with class-mean prototypes, already good on this easy task: the run must not lose it
        assertThat(losses).hasSize(6).allMatch(l -> Float.isFinite(l) && l < 0.1f);
        assertThat(a.spec().rank()).isEqualTo(8);
        assertThat(a.spec().scaling()).isEqualTo(SPEC.scaling());
        assertThat(a.spec().variant()).isEqualTo(LoraVariant.STANDARD);
        assertThat(a.provenance().details()).containsEntry("init", "pissa").containsEntry("init-rank", "4").containsKey("init-energy-share");
        // the trained half only: the stored second half is the frozen start
        long storedValues = a.weights().values().stream().mapToLong(t -> t.data().length).sum();
        assertThat(a.trainableParameters()).isEqualTo(storedValues / 2 + 3L * 384);
        PrincipalStart start = PrincipalStart.of(BASE, SPEC, PrincipalInitialisation.pissa(), 32);
        Map<String, HostTensor> trained = trainedHalf(a);
        float moved = 0;
        for (String k : trained.keySet()) moved = Math.max(moved, maxAbsDiff(new float[][]{trained.get(k).data()}, new float[][]{start.factors().get(k).data()}));
        assertThat(moved).as("the principal factors trained").isGreaterThan(1e-4f);
        // PEFT's conversion: ΔW = s(BA − B₀A₀) as one LoRA on the original base gives the model the run trained
        float[][] stored = BASE.embed(TEXTS, a, 32);
        assertThat(maxAbsDiff(stored, onResidual(SPEC, start.factors(), trained))).isLessThan(2e-5f);
        assertThat(maxAbsDiff(stored, BASE.embed(TEXTS, null, 32))).isGreaterThan(1e-3f);
        // and it is an ordinary PEFT LoRA file
        Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(a));
        assertThat(back.spec()).isEqualTo(a.spec());
        assertThat(maxAbsDiff(BASE.embed(TEXTS, back, 32), stored)).isZero();
    }

    @Test
    void aCordaRunCalibratesOnItsTextsAndAWarmStartOfTheSameShapeWins() {
        List<String> calibration = TinyTasks.sports().stream().map(LabeledText::text).toList();
        Adapter kpm = new LoraTrainer(BASE).train(new TrainingRequest(TinyTasks.things(), THINGS, ATTENTION, TRAINING.withEpochs(1), null, null, null, Map.of())
                .withPrincipalInit(new PrincipalInitialisation(PrincipalInit.Method.CORDA_KPM, calibration)));
        assertThat(kpm.provenance().details()).containsEntry("init", "corda-kpm").containsEntry("calibration-examples", Integer.toString(calibration.size()));
        assertThat(kpm.spec().rank()).isEqualTo(8);
        // a warm start that fits the run's spec is continued, not decomposed again
        Adapter plain = Adapter.lora(ATTENTION, trainedHalf(kpm), kpm.head(), BASE.id(), BASE.fingerprint(), null);
        Adapter continued = new LoraTrainer(BASE).train(new TrainingRequest(TinyTasks.things(), THINGS, ATTENTION, TRAINING.withEpochs(1), plain, null, null, Map.of())
                .withPrincipalInit(PrincipalInitialisation.pissa()));
        assertThat(continued.spec().rank()).isEqualTo(4);
        assertThat(continued.provenance().details()).doesNotContainKey("init");
    }

    @Test
    void principalInitsRefuseWhatTheyCannotStartAndCordaNeedsItsContext() {
        var request = new TrainingRequest(TinyTasks.things(), THINGS, SPEC.withVariant(LoraVariant.DORA), TRAINING, null, null, null, Map.of());
        assertThatThrownBy(() -> request.withPrincipalInit(PrincipalInitialisation.pissa())).hasMessageContaining("DoRA");
        assertThatThrownBy(() -> new PrincipalInitialisation(PrincipalInit.Method.CORDA_IPM, List.of())).hasMessageContaining("corda-ipm needs calibration texts");
        var big = new TrainingRequest(TinyTasks.things(), THINGS, new LoraSpec(200, 8f, 0f, List.of("query")), TRAINING, null, null, null, Map.of())
                .withPrincipalInit(PrincipalInitialisation.pissa());
        assertThatThrownBy(() -> new LoraTrainer(BASE).train(big)).hasMessageContaining("rank must be at most 128");
    }
}

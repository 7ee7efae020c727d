package io.lamina.engine.merge.learned;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraInit;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class LearnedMergeTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> QV = List.of("query", "value");
    private static final List<String> LABELS = List.of("p", "q");
    private static final String[] TEXTS = {
            "a large striped wild cat that hunts in the jungle",
            "a small furry pet that barks and wags its tail",
            "a motor car with four doors used for commuting",
            "a two-wheeled machine pedalled by the rider",
            "a baked loaf made from flour, water and yeast",
            "a sweet dessert of frozen cream and sugar"};
    /** Labels that cut across the sentences' topics, so the base model alone does not fit them. */
    private static final List<LabeledText> DATA = data();
    private static final List<String> COEFFICIENT_METHODS = List.of(LearnedMergeSpec.ATLAS, LearnedMergeSpec.SCALEARN,
            LearnedMergeSpec.SCALEARN_UNIFORM, LearnedMergeSpec.SCALEARN_SHARED, LearnedMergeSpec.SCALEARN_UNIFORM_SHARED);

    private static Adapter first;   // rank 2, alpha 4
    private static Adapter second;  // rank 3, alpha 3 (different scaling)

    private static List<LabeledText> data() {
        List<LabeledText> out = new ArrayList<>();
        for (int i = 0; i < TEXTS.length; i++) out.add(new LabeledText(TEXTS[i], i % 2 == 0 ? "p" : "q"));
        return out;
    }

    @BeforeAll
    static void adapters() {
        first = randomAdapter(new LoraSpec(2, 4f, 0.1f, QV), 11, 0.05f);
        second = randomAdapter(new LoraSpec(3, 3f, 0f, List.of("value", "query")), 12, 0.05f);
    }

    /** A from PEFT's init, B Gaussian: a small but visible change of the model. */
    private static Adapter randomAdapter(LoraSpec spec, long seed, float bStd) {
        Map<String, HostTensor> w = new TreeMap<>(LoraInit.initialWeights(spec, BASE.layers(), BASE.hiddenSize(), seed));
        Random random = new Random(seed);
        for (Map.Entry<String, HostTensor> e : w.entrySet()) {
            if (!e.getKey().contains("lora_B")) continue;
            float[] d = new float[e.getValue().data().length];
            for (int i = 0; i < d.length; i++) d[i] = (float) random.nextGaussian() * bStd;
            e.setValue(new HostTensor(e.getValue().shape(), d));
        }
        return Adapter.lora(spec, w, null, BASE.id(), BASE.fingerprint(), new AdapterProvenance("test", Map.of()));
    }

    private static LearnedMergeSpec spec(String method, int steps, float lr, List<Double> init) {
        return new LearnedMergeSpec(method, steps, lr, 5L, init, 32);
    }

    private static float[][] embed(Adapter a) {
        return BASE.embed(Arrays.asList(TEXTS), a, 32);
    }


    /** {@code s · B · A} at one site, in double. */
    private static double[] delta(Adapter a, int layer, String module) {
        HostTensor fa = a.weights().get(LoraSpec.peftKey(layer, module, 'A'));
        HostTensor fb = a.weights().get(LoraSpec.peftKey(layer, module, 'B'));
        int r = fa.rows(), in = fa.cols(), out = fb.rows();
        double[] d = new double[out * in];
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < r; k++) {
                double b = fb.get(o, k) * (double) a.spec().scaling();
                for (int j = 0; j < in; j++) d[o * in + j] += b * fa.get(k, j);
            }
        }
        return d;
    }

    private static double mean(Map<String, double[]> coefficients, int source, int sources, boolean perSiteScalars) {
        double sum = 0;
        int count = 0;
        for (Map.Entry<String, double[]> e : coefficients.entrySet()) {
            if (perSiteScalars) {
                sum += e.getValue()[source];
                count++;
            } else if (e.getKey().endsWith(".source." + source)) {
                for (double v : e.getValue()) sum += v;
                count += e.getValue().length;
            }
        }
        assertThat(count).isPositive();
        return sum / count;
    }

    // ------------------------------------------------------------------ exactness at the start

    @Test
    void oneHotStartWithZeroStepsReproducesTheSelectedSource() {
        float[][] expected = embed(second);
        assertThat(maxAbsDiff(expected, BASE.embed(Arrays.asList(TEXTS), null, 32))).isGreaterThan(1e-3f); // the source does change the model
        int layers = BASE.layers(), hidden = BASE.hiddenSize();
        Map<String, Integer> expectedCount = Map.of(
                LearnedMergeSpec.ATLAS, 2 * layers * 2,
                LearnedMergeSpec.SCALEARN, 2 * layers * 2 * hidden,
                LearnedMergeSpec.SCALEARN_UNIFORM, 2 * layers * 2,
                LearnedMergeSpec.SCALEARN_SHARED, 2 * 2 * hidden,
                LearnedMergeSpec.SCALEARN_UNIFORM_SHARED, 2 * 2);
        for (String method : COEFFICIENT_METHODS) {
            LearnedMerge.Result r = new LearnedMerge(BASE).fit(List.of(first, second), DATA, LABELS,
                    spec(method, 0, 0.1f, LearnedMergeSpec.oneHot(2, 1)));
            assertThat(maxAbsDiff(embed(r.merged()), expected)).as(method).isLessThanOrEqualTo(1e-5f);
            assertThat(r.lossCurve()).isEmpty();
            Adapter m = r.merged();
            assertThat(m.kind()).isEqualTo(AdapterKind.LORA);
            assertThat(m.spec().rank()).isEqualTo(5);
            assertThat(m.spec().scaling()).isEqualTo(1f);
            assertThat(m.spec().targetModules()).isEqualTo(QV);
            assertThat(m.baseFingerprint()).isEqualTo(BASE.fingerprint());
            assertThat(m.head().labels()).isEqualTo(LABELS);
            assertThat(m.head().scale()).isEqualTo(LoraTrainer.HEAD_SCALE);
            assertThat(m.provenance().method()).isEqualTo(AdapterProvenance.MERGED);
            assertThat(m.provenance().details()).containsEntry("merge-method", method).containsEntry("steps", "0")
                    .containsEntry("seed", "5").containsEntry("lr", "0.1").containsEntry("source-count", "2")
                    .containsEntry("merge-input-ranks", "2,3").containsEntry("merged-rank", "5")
                    .containsEntry("coefficient-means", "0.00000,1.00000").containsEntry("coefficient-init", "given:0.0,1.0")
                    .containsEntry("coefficient-count", String.valueOf(expectedCount.get(method)));
            int total = r.coefficients().values().stream().mapToInt(v -> v.length).sum();
            assertThat(total).as(method + " parameter count").isEqualTo(expectedCount.get(method));
        }
    }

    @Test
    void theMergedDeltaIsTheCoefficientWeightedSumAndTheAdapterStores() {
        List<Double> c = List.of(0.7, -0.3);
        for (String method : List.of(LearnedMergeSpec.ATLAS, LearnedMergeSpec.SCALEARN_SHARED)) {
            LearnedMerge.Result r = new LearnedMerge(BASE).fit(List.of(first, second), DATA, LABELS, spec(method, 0, 0.1f, c));
            for (int layer : new int[]{0, 5}) {
                for (String module : QV) {
                    double[] d1 = delta(first, layer, module);
                    double[] d2 = delta(second, layer, module);
                    double[] merged = delta(r.merged(), layer, module);
                    for (int k = 0; k < merged.length; k++) {
                        assertThat(merged[k]).isCloseTo(0.7 * d1[k] - 0.3 * d2[k], within(1e-5));
                    }
                }
            }
            Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(r.merged()));
            assertThat(back.weights()).isEqualTo(r.merged().weights());
        }
        // the layout of the coefficient map
        LearnedMerge.Result atlas = new LearnedMerge(BASE).fit(List.of(first, second), DATA, LABELS, spec(LearnedMergeSpec.ATLAS, 0, 0.1f, c));
        assertThat(atlas.coefficients()).containsKeys("layer.0.query", "layer.5.value").hasSize(BASE.layers() * 2);
        assertThat(atlas.coefficients().get("layer.3.value")).containsExactly(0.7f, -0.3f);
    }

    @Test
    void paperInitialisations() {
        LearnedMerge.Result atlas = new LearnedMerge(BASE).fit(List.of(first, second), DATA, LABELS, spec(LearnedMergeSpec.ATLAS, 0, 0.1f, null));
        assertThat(atlas.coefficients().values()).allSatisfy(v -> assertThat(v).containsOnly(0.0));
        assertThat(maxAbsDiff(embed(atlas.merged()), BASE.embed(Arrays.asList(TEXTS), null, 32))).isLessThanOrEqualTo(1e-6f); // Λ = 0 is the base
        assertThat(atlas.merged().provenance().details()).containsEntry("coefficient-init", "zeros");

        LearnedMerge.Result sl = new LearnedMerge(BASE).fit(List.of(first, second), DATA, LABELS, spec(LearnedMergeSpec.SCALEARN_UNIFORM_SHARED, 0, 0.1f, null));
        assertThat(sl.coefficients()).containsOnlyKeys("query", "value");
        assertThat(sl.merged().provenance().details()).containsEntry("omega-dropout", "0.0"); // scalearnUniformPP_2_avg_d00
        for (double[] v : sl.coefficients().values()) {
            for (double x : v) assertThat(x).isCloseTo(1.0, within(0.01)); // N(2/n, 0.001) with n = 2
        }
    }

    // ------------------------------------------------------------------ learning

    @Test
    void coefficientsMoveTowardTheRightSourceAndTheLossFalls() {
        LoraSpec lora = new LoraSpec(2, 4f, 0f, QV);
        Adapter right = new LoraTrainer(BASE).train(new TrainingRequest(DATA, LABELS, lora,
                new TrainingSpec(5, DATA.size(), 2e-2f, 0f, 0f, 1f, 3L, 32, 0), null, null, null, Map.of()));
        Adapter noise = randomAdapter(lora, 21, 0.05f);
        List<Adapter> sources = List.of(right, noise);

        LearnedMerge.Result atlas = new LearnedMerge(BASE).fit(sources, DATA, LABELS, spec(LearnedMergeSpec.ATLAS, 5, 0.1f, null));
        List<Float> loss = atlas.lossCurve();
        assertThat(loss).hasSize(5);
        assertThat(loss.get(4)).isLessThan(loss.get(0) * 0.7f);
        double rightMean = mean(atlas.coefficients(), 0, 2, true);
        double noiseMean = mean(atlas.coefficients(), 1, 2, true);
        // from Λ = 0 the right source's coefficients grow; the noise source's stay well below them
        assertThat(rightMean).isGreaterThan(0.15).isGreaterThan(noiseMean + 0.2);
        assertThat(atlas.merged().provenance().details()).containsEntry("steps", "5")
                .containsEntry("final-loss", Float.toString(loss.get(4))).containsEntry("weight-decay", "0.1");

        // the same seed gives the same run: a shorter run's first step uses the same (peak) rate, so its
        // first two losses are those of the longer run
        LearnedMerge.Result again = new LearnedMerge(BASE).fit(sources, DATA, LABELS, spec(LearnedMergeSpec.ATLAS, 2, 0.1f, null));
        assertThat(again.lossCurve()).isEqualTo(loss.subList(0, 2));

        // ScaLearn (vector ω, with ω-dropout) from an even start
        LearnedMerge.Result sl = new LearnedMerge(BASE).fit(sources, DATA, LABELS, spec(LearnedMergeSpec.SCALEARN, 4, 0.05f, List.of(0.0, 0.0)));
        assertThat(sl.lossCurve()).hasSize(4);
        assertThat(sl.lossCurve().get(3)).isLessThan(sl.lossCurve().get(0) * 0.8f);
        assertThat(mean(sl.coefficients(), 0, 2, false)).isGreaterThan(mean(sl.coefficients(), 1, 2, false) + 0.03);
        assertThat(sl.merged().provenance().details()).containsEntry("omega-dropout", "0.3");
    }

    // ------------------------------------------------------------------ MHR-μ

    @Test
    void mhrMuAveragesTheDeltasAndFineTunesTheAverage() {
        LearnedMerge.Result same = new LearnedMerge(BASE).fit(List.of(first, first), DATA, LABELS, spec(LearnedMergeSpec.MHR_MU, 0, 3e-3f, null));
        assertThat(maxAbsDiff(embed(same.merged()), embed(first))).isLessThanOrEqualTo(1e-5f);
        assertThat(same.coefficients()).containsOnlyKeys("weights");
        assertThat(same.coefficients().get("weights")).containsExactly(0.5, 0.5);
        assertThat(same.merged().spec().rank()).isEqualTo(4);
        assertThat(same.merged().provenance().details()).containsEntry("merge-method", "mhr_mu").containsEntry("refactorised", "false");

        LearnedMerge.Result mixed = new LearnedMerge(BASE).fit(List.of(first, second), DATA, LABELS, spec(LearnedMergeSpec.MHR_MU, 0, 3e-3f, null));
        double[] d1 = delta(first, 2, "query"), d2 = delta(second, 2, "query"), m = delta(mixed.merged(), 2, "query");
        for (int k = 0; k < m.length; k++) assertThat(m[k]).isCloseTo(0.5 * d1[k] + 0.5 * d2[k], within(1e-5));

        LearnedMerge.Result tuned = new LearnedMerge(BASE).fit(List.of(first, second), DATA, LABELS, spec(LearnedMergeSpec.MHR_MU, 2, 3e-3f, null));
        assertThat(tuned.lossCurve()).hasSize(2);
        assertThat(tuned.merged().spec().rank()).isEqualTo(5);
        assertThat(tuned.merged().provenance().method()).isEqualTo(AdapterProvenance.MERGED);
        assertThat(tuned.merged().provenance().details()).containsEntry("steps", "2").containsEntry("finetune-rank", "5");
        assertThat(tuned.merged().weights()).isNotEqualTo(mixed.merged().weights());
        assertThat(maxAbsDiff(embed(tuned.merged()), embed(mixed.merged()))).isGreaterThan(0f);
    }

    // ------------------------------------------------------------------ validation

    @Test
    void specValidation() {
        assertThatThrownBy(() -> new LearnedMergeSpec("ties", 1, 0.1f, 1L, null, 32)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown learned-merge method 'ties', supported: [atlas, scalearn, scalearn_uniform, scalearn_shared, scalearn_uniform_shared, mhr_mu]");
        assertThatThrownBy(() -> new LearnedMergeSpec(null, 1, 0.1f, 1L, null, 32)).hasMessageStartingWith("unknown learned-merge method 'null'");
        assertThatThrownBy(() -> new LearnedMergeSpec("atlas", -1, 0.1f, 1L, null, 32)).hasMessage("steps must be in [0, 1000], got -1");
        assertThatThrownBy(() -> new LearnedMergeSpec("atlas", 1001, 0.1f, 1L, null, 32)).hasMessage("steps must be in [0, 1000], got 1001");
        assertThatThrownBy(() -> new LearnedMergeSpec("atlas", 1, 0f, 1L, null, 32)).hasMessage("learningRate must be a positive finite number, got 0.0");
        assertThatThrownBy(() -> new LearnedMergeSpec("atlas", 1, Float.NaN, 1L, null, 32)).hasMessage("learningRate must be a positive finite number, got NaN");
        assertThatThrownBy(() -> new LearnedMergeSpec("atlas", 1, 0.1f, 1L, null, 2)).hasMessage("maxLength must be in [3, 512], got 2");
        assertThatThrownBy(() -> new LearnedMergeSpec("atlas", 1, 0.1f, 1L, List.of(), 32))
                .hasMessage("initialCoefficients must hold one value per source adapter (or be null for the method's default), got an empty list");
        assertThatThrownBy(() -> new LearnedMergeSpec("atlas", 1, 0.1f, 1L, Arrays.asList(1.0, null), 32)).hasMessage("initialCoefficients[1] must be finite, got null");
        assertThatThrownBy(() -> new LearnedMergeSpec("atlas", 1, 0.1f, 1L, List.of(Double.POSITIVE_INFINITY), 32)).hasMessage("initialCoefficients[0] must be finite, got Infinity");
        assertThatThrownBy(() -> LearnedMergeSpec.oneHot(2, 2)).hasMessage("oneHot index 2 is outside [0, 2)");
        assertThat(LearnedMergeSpec.defaults("atlas").learningRate()).isEqualTo(0.1f);
        assertThat(LearnedMergeSpec.defaults("mhr_mu").learnsCoefficients()).isFalse();
        List<Double> mutable = new ArrayList<>(List.of(1.0, 2.0));
        LearnedMergeSpec s = new LearnedMergeSpec("atlas", 1, 0.1f, 1L, mutable, 32);
        mutable.set(0, 9.0);
        assertThat(s.initialCoefficients()).containsExactly(1.0, 2.0);
    }

    @Test
    void fitValidation() {
        LearnedMerge lm = new LearnedMerge(BASE);
        LearnedMergeSpec atlas = spec(LearnedMergeSpec.ATLAS, 0, 0.1f, null);
        assertThatThrownBy(() -> lm.fit(List.of(), DATA, LABELS, atlas)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("a learned merge needs at least one source adapter");
        assertThatThrownBy(() -> lm.fit(Arrays.asList(first, null), DATA, LABELS, atlas)).hasMessage("source adapter 1 is null");
        assertThatThrownBy(() -> lm.fit(List.of(first), DATA, LABELS, null)).hasMessage("a LearnedMergeSpec is required");

        Adapter keyOnly = randomAdapter(new LoraSpec(2, 4f, 0f, List.of("key")), 3, 0.05f);
        assertThatThrownBy(() -> lm.fit(List.of(first, keyOnly), DATA, LABELS, atlas))
                .hasMessage("source adapter 1 targets [key] but source adapter 0 targets [query, value]: target modules must match");

        Adapter foreign = new Adapter(first.kind(), first.spec(), first.weights(), null, first.baseModelId(), "sha256:other", first.provenance());
        assertThatThrownBy(() -> lm.fit(List.of(first, foreign), DATA, LABELS, atlas))
                .hasMessage("source adapter 1 was made for base sha256:other, not " + BASE.fingerprint());

        Map<String, HostTensor> missing = new TreeMap<>(first.weights());
        missing.remove(LoraSpec.peftKey(4, "value", 'B'));
        Adapter holed = Adapter.lora(first.spec(), missing, null, BASE.id(), BASE.fingerprint(), first.provenance());
        assertThatThrownBy(() -> lm.fit(List.of(holed), DATA, LABELS, atlas)).hasMessage("source adapter 0 lacks lora_B at layer 4 value");

        Map<String, HostTensor> wrong = new TreeMap<>(first.weights());
        wrong.put(LoraSpec.peftKey(1, "query", 'A'), HostTensor.zeros(3, BASE.hiddenSize()));
        Adapter misshapen = Adapter.lora(first.spec(), wrong, null, BASE.id(), BASE.fingerprint(), first.provenance());
        assertThatThrownBy(() -> lm.fit(List.of(misshapen), DATA, LABELS, atlas))
                .hasMessage("source adapter 0 lora_A at layer 1 query has shape [3, 384], expected [2, 384]");

        Adapter big = randomAdapter(new LoraSpec(200, 200f, 0f, QV), 4, 0.01f);
        assertThatThrownBy(() -> lm.fit(List.of(big, big), DATA, LABELS, atlas))
                .hasMessage("merged rank 400 (sum of the source ranks) exceeds the LoRA maximum of 256");

        assertThatThrownBy(() -> lm.fit(List.of(first, second), DATA, LABELS, spec(LearnedMergeSpec.SCALEARN, 0, 0.1f, List.of(1.0))))
                .hasMessage("initialCoefficients has 1 values but there are 2 source adapters: give one value per source");
        assertThatThrownBy(() -> lm.fit(List.of(first), List.of(), LABELS, atlas)).hasMessage("a learned merge needs at least one labelled example");
        assertThatThrownBy(() -> lm.fit(List.of(first), DATA, List.of("p", "p"), atlas)).hasMessage("labels must be distinct: [p, p]");
        assertThatThrownBy(() -> lm.fit(List.of(first), List.of(new LabeledText("x", "z")), LABELS, atlas))
                .hasMessage("example 0 has label 'z', not among [p, q]");
    }
}

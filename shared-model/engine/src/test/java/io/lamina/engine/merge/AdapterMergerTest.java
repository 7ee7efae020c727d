package io.lamina.engine.merge;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.AdapterFixtures;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.tensor.HostTensor;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class AdapterMergerTest {

    private static final int HIDDEN = 8;
    private static final int LAYERS = 2;
    private static final List<String> QV = List.of("query", "value");

    private static Adapter adapter(long seed, int rank, float alpha, List<String> labels) {
        return AdapterFixtures.randomAdapter(seed, new LoraSpec(rank, alpha, 0.1f, QV), LAYERS, HIDDEN, labels, "sha256:base");
    }

    private static MergeRecipe recipe(String method, String convention, List<Double> weights, Map<String, Object> params, long seed) {
        return new MergeRecipe(method, convention, weights, params, seed);
    }

    /** s · B · A in double precision, [out, in]. */
    private static double[] delta(Adapter a, int layer, String module) {
        HostTensor ta = a.weights().get(LoraSpec.peftKey(layer, module, 'A'));
        HostTensor tb = a.weights().get(LoraSpec.peftKey(layer, module, 'B'));
        int r = ta.rows(), in = ta.cols(), out = tb.rows();
        double s = (double) a.spec().alpha() / a.spec().rank();
        double[] d = new double[out * in];
        for (int o = 0; o < out; o++) {
            for (int k = 0; k < r; k++) {
                for (int j = 0; j < in; j++) d[o * in + j] += s * tb.data()[o * r + k] * ta.data()[k * in + j];
            }
        }
        return d;
    }

    private static double[] weightedSum(List<Adapter> inputs, List<Double> w, int layer, String module) {
        double[] sum = null;
        for (int i = 0; i < inputs.size(); i++) {
            double[] d = delta(inputs.get(i), layer, module);
            if (sum == null) sum = new double[d.length];
            for (int k = 0; k < d.length; k++) sum[k] += w.get(i) * d[k];
        }
        return sum;
    }

    private static double maxAbs(double[] x) {
        double m = 0;
        for (double v : x) m = Math.max(m, Math.abs(v));
        return m;
    }

    private static double maxDiff(double[] x, double[] y) {
        double m = 0;
        for (int i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
        return m;
    }

    private static double frobenius(double[] x, double[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += (x[i] - y[i]) * (x[i] - y[i]);
        return Math.sqrt(s);
    }

    // ---------------------------------------------------------------- catalogue

    @Test
    void catalogueListsPeftCombinationTypesAndSaysWhatEachOperatesOn() {
        assertThat(AdapterMerger.methods()).containsExactly("linear", "cat", "svd", "ties", "ties_svd", "dare_linear", "dare_ties",
                "dare_linear_svd", "dare_ties_svd", "magnitude_prune", "magnitude_prune_svd", "task_arithmetic", "breadcrumbs",
                "della", "model_stock");
        for (String m : List.of("linear", "ties", "dare_linear", "dare_ties", "magnitude_prune")) {
            MergeMethodInfo info = AdapterMerger.describe(m);
            assertThat(info.operatesOn()).as(m).isEqualTo(MergeMethodInfo.FACTORS);
            assertThat(info.summary()).as(m).contains("approximate");
        }
        for (String m : List.of("cat", "svd", "ties_svd", "dare_ties_svd", "task_arithmetic", "breadcrumbs", "della", "model_stock")) {
            assertThat(AdapterMerger.describe(m).operatesOn()).as(m).isEqualTo(MergeMethodInfo.DELTAS);
        }
        assertThat(AdapterMerger.describe("dare_ties").randomized()).isTrue();
        assertThat(AdapterMerger.describe("della").randomized()).isTrue();
        assertThat(AdapterMerger.describe("ties_svd").randomized()).isFalse();
        assertThat(AdapterMerger.describe("ties_svd").params())
                .containsExactly("density", "majority_sign_method", "svd_rank", "svd_clamp", "svd_full_matrices", "normalize", "lambda", "rescale");
        assertThat(AdapterMerger.describe("CAT").name()).isEqualTo("cat");
        assertThatThrownBy(() -> AdapterMerger.describe("slerp"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown merge method 'slerp'").hasMessageContaining("dare_ties_svd");
    }

    // ---------------------------------------------------------------- exact methods

    @Test
    void catIsExactAndTheMergedScalingIsOne() {
        Adapter a1 = adapter(1, 2, 4f, List.of("a", "b"));
        Adapter a2 = adapter(2, 3, 8f, List.of("c"));
        Adapter a3 = adapter(3, 4, 4f, List.of("d", "e"));
        List<Adapter> inputs = List.of(a1, a2, a3);
        List<Double> w = List.of(0.7, -0.3, 1.5);
        for (String method : List.of("cat", "task_arithmetic")) {
            Adapter m = AdapterMerger.merge(inputs, MergeRecipe.of(method, w), Map.of());
            assertThat(m.spec().rank()).isEqualTo(9);
            assertThat(m.spec().alpha()).isEqualTo(9f);
            assertThat(m.spec().scaling()).isEqualTo(1f);
            for (int layer = 0; layer < LAYERS; layer++) {
                for (String module : QV) {
                    double[] expected = weightedSum(inputs, w, layer, module);
                    double[] actual = delta(m, layer, module);
                    assertThat(maxDiff(actual, expected)).as(method + " layer " + layer + " " + module)
                            .isLessThanOrEqualTo(1e-6 * Math.max(1, maxAbs(expected)));
                }
            }
        }
    }

    @Test
    void taskArithmeticShortcutIsTheSameMerge() {
        Adapter a1 = adapter(1, 2, 4f, List.of("a"));
        Adapter a2 = adapter(2, 2, 4f, List.of("b"));
        Adapter viaShortcut = TaskArithmeticMerge.merge(List.of(a1, a2), List.of(0.5, 0.5), Map.of());
        Adapter viaRecipe = AdapterMerger.merge(List.of(a1, a2), MergeRecipe.of("task_arithmetic", List.of(0.5, 0.5)), Map.of());
        assertThat(viaShortcut.weights()).isEqualTo(viaRecipe.weights());
    }

    @Test
    void modelStockScalesTheMeanDeltaByTheAngleFactor() {
        Adapter a1 = adapter(11, 2, 4f, List.of("a"));
        Adapter a2 = adapter(12, 3, 4f, List.of("b"));
        Adapter a3 = adapter(13, 2, 8f, List.of("c"));
        List<Adapter> inputs = List.of(a1, a2, a3);
        Adapter m = AdapterMerger.merge(inputs, recipe("model_stock", "mergekit", List.of(1.0, 1.0, 1.0), Map.of(), 0), Map.of());
        Adapter rowWise = AdapterMerger.merge(inputs, recipe("model_stock", "peft", List.of(1.0, 1.0, 1.0), Map.of("filter_wise", true), 0), Map.of());
        assertThat(m.spec().rank()).isEqualTo(7);
        int n = inputs.size();
        for (int layer = 0; layer < LAYERS; layer++) {
            for (String module : QV) {
                double[][] d = new double[n][];
                for (int i = 0; i < n; i++) d[i] = delta(inputs.get(i), layer, module);
                double cos = 0;
                for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) cos += cosine(d[i], d[j], 0, d[i].length) / 3;
                double t = n * cos / (1 + (n - 1) * cos);
                double[] expected = new double[d[0].length];
                for (int k = 0; k < expected.length; k++) expected[k] = t * (d[0][k] + d[1][k] + d[2][k]) / n;
                assertThat(maxDiff(delta(m, layer, module), expected)).isLessThanOrEqualTo(1e-6 * Math.max(1, maxAbs(expected)));

                double[] expectedRows = new double[d[0].length];
                for (int o = 0; o < HIDDEN; o++) {
                    double c = 0;
                    for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) c += cosine(d[i], d[j], o * HIDDEN, HIDDEN) / 3;
                    double tr = n * c / (1 + (n - 1) * c);
                    for (int k = o * HIDDEN; k < (o + 1) * HIDDEN; k++) expectedRows[k] = tr * (d[0][k] + d[1][k] + d[2][k]) / n;
                }
                assertThat(maxDiff(delta(rowWise, layer, module), expectedRows)).isLessThanOrEqualTo(1e-6 * Math.max(1, maxAbs(expectedRows)));
            }
        }
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(a1), MergeRecipe.of("model_stock", List.of(1.0)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("model_stock needs at least 2 adapters");
    }

    private static double cosine(double[] x, double[] y, int from, int len) {
        double dot = 0, nx = 0, ny = 0;
        for (int k = from; k < from + len; k++) {
            dot += x[k] * y[k];
            nx += x[k] * x[k];
            ny += y[k] * y[k];
        }
        return dot / Math.sqrt(nx * ny);
    }

    // ---------------------------------------------------------------- factor-wise (approximate)

    @Test
    void factorWiseLinearMergesAandBSeparatelyWithCrossTerms() {
        Adapter a1 = adapter(1, 2, 4f, List.of("a"));
        Adapter a2 = adapter(2, 2, 8f, List.of("b"));
        List<Double> w = List.of(0.6, -0.4);
        Adapter m = AdapterMerger.merge(List.of(a1, a2), MergeRecipe.of("linear", w), Map.of());
        assertThat(m.spec().rank()).isEqualTo(2);
        assertThat(m.spec().scaling()).isEqualTo(1f);
        // A' = Σ sign(w s)·sqrt|w s|·A_i, B' = Σ sqrt|w s|·B_i
        double c1 = 0.6 * 2, c2 = -0.4 * 4;
        HostTensor mergedA = m.weights().get(LoraSpec.peftKey(1, "value", 'A'));
        HostTensor mergedB = m.weights().get(LoraSpec.peftKey(1, "value", 'B'));
        float[] a1A = a1.weights().get(LoraSpec.peftKey(1, "value", 'A')).data();
        float[] a2A = a2.weights().get(LoraSpec.peftKey(1, "value", 'A')).data();
        float[] a1B = a1.weights().get(LoraSpec.peftKey(1, "value", 'B')).data();
        float[] a2B = a2.weights().get(LoraSpec.peftKey(1, "value", 'B')).data();
        for (int k = 0; k < a1A.length; k++) {
            assertThat((double) mergedA.data()[k]).isCloseTo(Math.sqrt(c1) * a1A[k] - Math.sqrt(-c2) * a2A[k], within(1e-5));
        }
        for (int k = 0; k < a1B.length; k++) {
            assertThat((double) mergedB.data()[k]).isCloseTo(Math.sqrt(c1) * a1B[k] + Math.sqrt(-c2) * a2B[k], within(1e-5));
        }
        // ... which is not the weighted sum of deltas (cross terms), but is for a single input
        double[] exact = weightedSum(List.of(a1, a2), w, 1, "value");
        assertThat(maxDiff(delta(m, 1, "value"), exact)).isGreaterThan(0.1);
        Adapter single = AdapterMerger.merge(List.of(a2), MergeRecipe.of("linear", List.of(-0.4)), Map.of());
        double[] expected = weightedSum(List.of(a2), List.of(-0.4), 0, "query");
        assertThat(maxDiff(delta(single, 0, "query"), expected)).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(expected)));
    }

    @Test
    void tiesWithOneInputAndDensityOneIsWeightTimesInput() {
        Adapter a = adapter(7, 3, 6f, List.of("a"));
        double w = 0.7;
        for (String method : List.of("ties", "ties_svd", "dare_ties", "magnitude_prune_svd")) {
            Map<String, Object> params = new HashMap<>(Map.of("density", 1.0));
            if (method.endsWith("_svd")) params.put("svd_rank", 3);
            Adapter m = AdapterMerger.merge(List.of(a), recipe(method, "peft", List.of(w), params, 5), Map.of());
            for (int layer = 0; layer < LAYERS; layer++) {
                for (String module : QV) {
                    double[] expected = weightedSum(List.of(a), List.of(w), layer, module);
                    assertThat(maxDiff(delta(m, layer, module), expected)).as(method)
                            .isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(expected)));
                }
            }
        }
        // mergekit's TIES normalizes by the agreeing weights: one input comes back unweighted
        Adapter mk = AdapterMerger.merge(List.of(a), recipe("ties_svd", "mergekit", List.of(w), Map.of("density", 1.0, "svd_rank", 3), 0), Map.of());
        double[] unweighted = delta(a, 0, "query");
        assertThat(maxDiff(delta(mk, 0, "query"), unweighted)).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(unweighted)));
        Adapter mkNoNorm = AdapterMerger.merge(List.of(a),
                recipe("ties_svd", "mergekit", List.of(w), Map.of("density", 1.0, "svd_rank", 3, "normalize", false), 0), Map.of());
        double[] weighted = weightedSum(List.of(a), List.of(w), 0, "query");
        assertThat(maxDiff(delta(mkNoNorm, 0, "query"), weighted)).isLessThanOrEqualTo(1e-5 * Math.max(1, maxAbs(weighted)));
    }

    // ---------------------------------------------------------------- conventions, hand-computed, through whole adapters

    /** One site (layer 0 query), rank 1, alpha 1: ΔW = B·A = [b] · [a0, a1], a 1×2 delta. */
    private static Adapter tiny(float a0, float a1, float b) {
        LoraSpec spec = new LoraSpec(1, 1f, 0f, List.of("query"));
        Map<String, HostTensor> w = Map.of(
                LoraSpec.peftKey(0, "query", 'A'), new HostTensor(new long[]{1, 2}, new float[]{a0, a1}),
                LoraSpec.peftKey(0, "query", 'B'), new HostTensor(new long[]{1, 1}, new float[]{b}));
        return Adapter.lora(spec, w, new PrototypeHead(List.of("x"), new float[][]{{1, 0}}, 10f), "m", "sha256:base",
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
    }

    @Test
    void tiesConventionsDifferOnAHandComputedExample() {
        // τ1 = [3, -1], τ2 = [-2, 2], w = [1, 4]; svd_rank 1 reproduces a 1×2 delta exactly.
        List<Adapter> inputs = List.of(tiny(3, -1, 1), tiny(-2, 2, 1));
        Map<String, Object> params = Map.of("density", 1.0, "svd_rank", 1);
        Adapter peft = AdapterMerger.merge(inputs, recipe("ties_svd", "peft", List.of(1.0, 4.0), params, 0), Map.of());
        Adapter mergekit = AdapterMerger.merge(inputs, recipe("ties_svd", "mergekit", List.of(1.0, 4.0), params, 0), Map.of());
        // PEFT: elected signs [+, +] from τ1 + τ2 = [1, 1]; each entry averages its agreeing weighted entries over their count
        assertThat(delta(peft, 0, "query")).containsExactly(new double[]{3, 8}, within(1e-5));
        // mergekit: elected signs from 1·τ1 + 4·τ2 = [-5, 7]; only τ2 agrees, divided by its weight 4
        assertThat(delta(mergekit, 0, "query")).containsExactly(new double[]{-2, 2}, within(1e-5));
        assertThat(peft.provenance().details()).containsEntry("merge-convention", "peft");
        assertThat(mergekit.provenance().details()).containsEntry("merge-convention", "mergekit")
                .containsEntry("merge-params", "density=1.0,lambda=1.0,majority_sign_method=total,normalize=true,rescale=false,"
                        + "svd_clamp=none,svd_full_matrices=true,svd_rank=1");
    }

    @Test
    void dareConventionsDifferInTheRescale() {
        // One full-rank delta per site, svd_rank = hidden so that the SVD reproduces it; the same seed draws the same mask.
        Adapter a = adapter(21, 8, 8f, List.of("a"));
        Map<String, Object> params = Map.of("density", 0.5, "svd_rank", HIDDEN);
        Adapter peft = AdapterMerger.merge(List.of(a), recipe("dare_linear_svd", "peft", List.of(1.0), params, 42), Map.of());
        Adapter mergekit = AdapterMerger.merge(List.of(a), recipe("dare_linear_svd", "mergekit", List.of(1.0), params, 42), Map.of());
        double[] input = delta(a, 1, "query");
        double[] p = delta(peft, 1, "query");
        double[] k = delta(mergekit, 1, "query");
        double tol = 1e-4 * maxAbs(input);
        double l1Input = 0, l1Kept = 0, l1Mergekit = 0;
        int kept = 0;
        for (int j = 0; j < input.length; j++) {
            boolean keep = Math.abs(p[j]) > tol;
            if (keep) {
                kept++;
                // PEFT: kept entries are divided by the density
                assertThat(p[j]).isCloseTo(input[j] / 0.5, within(tol));
                l1Kept += Math.abs(input[j]);
            } else {
                assertThat(k[j]).isCloseTo(0, within(tol));
            }
            l1Input += Math.abs(input[j]);
            l1Mergekit += Math.abs(k[j]);
        }
        assertThat(kept).isBetween(16, 48);
        // mergekit: kept entries are scaled to restore the L1 norm, not by 1/density
        double factor = l1Input / l1Kept;
        assertThat(l1Mergekit).isCloseTo(l1Input, within(1e-4 * l1Input));
        for (int j = 0; j < input.length; j++) {
            if (Math.abs(p[j]) > tol) assertThat(k[j]).isCloseTo(input[j] * factor, within(tol * factor));
        }
        assertThat(factor).isNotCloseTo(2.0, within(1e-3));
    }

    // ---------------------------------------------------------------- DARE: unbiased, reproducible

    @Test
    void dareExpectedValueIsTheInput() {
        Adapter a = adapter(31, 2, 4f, List.of("a"));
        double density = 0.5;
        int seeds = 1500;
        double[][] meanSvd = new double[2][HIDDEN * HIDDEN];
        double[][] meanFactors = new double[2][HIDDEN * HIDDEN];
        for (int s = 0; s < seeds; s++) {
            Adapter viaSvd = AdapterMerger.merge(List.of(a),
                    recipe("dare_linear_svd", "peft", List.of(1.0), Map.of("density", density, "svd_rank", HIDDEN), s), Map.of());
            Adapter factorWise = AdapterMerger.merge(List.of(a), recipe("dare_linear", "peft", List.of(1.0), Map.of("density", density), s), Map.of());
            for (int l = 0; l < 2; l++) {
                double[] d1 = delta(viaSvd, l, "query");
                double[] d2 = delta(factorWise, l, "query");
                for (int k = 0; k < d1.length; k++) {
                    meanSvd[l][k] += d1[k] / seeds;
                    meanFactors[l][k] += d2[k] / seeds;
                }
            }
        }
        for (int l = 0; l < 2; l++) {
            double[] input = delta(a, l, "query");
            double scale = maxAbs(input);
            for (int k = 0; k < input.length; k++) {
                // on deltas: per-entry std of the mean is |δ|·sqrt((1-d)/(d·seeds))
                double sigma = Math.abs(input[k]) * Math.sqrt((1 - density) / (density * seeds));
                assertThat(meanSvd[l][k]).as("dare_linear_svd layer " + l + " entry " + k).isCloseTo(input[k], within(5 * sigma + 1e-5 * scale));
            }
            // factor-wise: independent masks on A and B, E[B'A'] = E[B'] E[A'] = s·B·A
            assertThat(maxDiff(meanFactors[l], input)).as("dare_linear layer " + l).isLessThan(0.15 * scale);
        }
    }

    @Test
    void sameRecipeGivesIdenticalTensorsAndAnotherSeedDoesNot() {
        Adapter a1 = adapter(1, 4, 8f, List.of("a"));
        Adapter a2 = adapter(2, 4, 8f, List.of("b"));
        List<Adapter> inputs = List.of(a1, a2);
        for (String method : List.of("dare_ties", "dare_linear_svd", "dare_ties_svd", "della")) {
            Map<String, Object> params = new HashMap<>(Map.of("density", 0.5));
            if (method.equals("della")) params.put("epsilon", 0.2);
            MergeRecipe r = recipe(method, "peft", List.of(0.5, 0.5), params, 1234);
            Adapter first = AdapterMerger.merge(inputs, r, Map.of());
            Adapter again = AdapterMerger.merge(inputs, recipe(method, "peft", List.of(0.5, 0.5), params, 1234), Map.of());
            assertThat(again.weights()).as(method).isEqualTo(first.weights());
            Adapter other = AdapterMerger.merge(inputs, recipe(method, "peft", List.of(0.5, 0.5), params, 1235), Map.of());
            assertThat(other.weights()).as(method).isNotEqualTo(first.weights());
            assertThat(first.provenance().details()).containsEntry("merge-seed", "1234");
        }
        // deterministic methods ignore the seed
        Map<String, Object> ties = Map.of("density", 0.5);
        assertThat(AdapterMerger.merge(inputs, recipe("ties", "peft", List.of(0.5, 0.5), ties, 1), Map.of()).weights())
                .isEqualTo(AdapterMerger.merge(inputs, recipe("ties", "peft", List.of(0.5, 0.5), ties, 2), Map.of()).weights());
    }

    // ---------------------------------------------------------------- SVD

    @Test
    void svdTruncationErrorIsTheNormOfTheDroppedSingularValues() {
        Adapter a1 = adapter(41, 2, 4f, List.of("a"));
        Adapter a2 = adapter(42, 2, 2f, List.of("b"));
        Adapter a3 = adapter(43, 2, 4f, List.of("c"));
        List<Adapter> inputs = List.of(a1, a2, a3);
        List<Double> w = List.of(0.5, 1.0, -0.8);
        for (int rank : new int[]{1, 3, 6}) {
            Adapter m = AdapterMerger.merge(inputs, recipe("svd", "peft", w, Map.of("svd_rank", rank), 0), Map.of());
            assertThat(m.spec().rank()).isEqualTo(rank);
            assertThat(m.spec().scaling()).isEqualTo(1f);
            for (int layer = 0; layer < LAYERS; layer++) {
                for (String module : QV) {
                    double[] exact = weightedSum(inputs, w, layer, module);
                    double[] sv = SingularOps_DDRM.singularValues(new DMatrixRMaj(HIDDEN, HIDDEN, true, exact));
                    Arrays.sort(sv);
                    double dropped = 0;
                    for (int k = 0; k < sv.length - rank; k++) dropped += sv[k] * sv[k]; // all but the `rank` largest
                    double error = frobenius(delta(m, layer, module), exact);
                    assertThat(error).as("rank " + rank + " layer " + layer + " " + module)
                            .isCloseTo(Math.sqrt(dropped), within(1e-5 * Math.max(1, maxAbs(exact))));
                }
            }
        }
    }

    @Test
    void svdDefaultsToTheLargestInputRankAndClampBoundsTheFactors() {
        Adapter a1 = adapter(41, 2, 4f, List.of("a"));
        Adapter a2 = adapter(42, 3, 2f, List.of("b"));
        Adapter m = AdapterMerger.merge(List.of(a1, a2), MergeRecipe.of("svd", List.of(1.0, 1.0)), Map.of());
        assertThat(m.spec().rank()).isEqualTo(3);
        assertThat(m.provenance().details()).containsEntry("merge-params", "svd_clamp=none,svd_full_matrices=true,svd_rank=3");

        Adapter clamped = AdapterMerger.merge(List.of(a1, a2), recipe("svd", "peft", List.of(1.0, 1.0), Map.of("svd_clamp", 0.9), 0), Map.of());
        String aKey = LoraSpec.peftKey(0, "query", 'A'), bKey = LoraSpec.peftKey(0, "query", 'B');
        float[] all = concat(m.weights().get(bKey).data(), m.weights().get(aKey).data());
        double[] d = new double[all.length];
        for (int i = 0; i < d.length; i++) d[i] = all[i];
        double hi = LowRank.quantile(d, 0.9);
        int changed = 0;
        for (String key : List.of(aKey, bKey)) {
            float[] before = m.weights().get(key).data();
            float[] after = clamped.weights().get(key).data();
            for (int i = 0; i < after.length; i++) {
                double expected = Math.max(-hi, Math.min(hi, before[i]));
                assertThat((double) after[i]).isCloseTo(expected, within(1e-6));
                if (after[i] != before[i]) changed++;
            }
        }
        assertThat(changed).isPositive();
        assertThat(clamped.provenance().details().get("merge-params")).contains("svd_clamp=0.9");
    }

    private static float[] concat(float[] x, float[] y) {
        float[] out = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, out, x.length, y.length);
        return out;
    }

    // ---------------------------------------------------------------- remaining methods run, and the result stores

    @Test
    void everyMethodProducesAStorableAdapterWithProvenance() {
        Adapter a1 = adapter(1, 4, 8f, List.of("cat", "dog"));
        Adapter a2 = adapter(2, 4, 4f, List.of("dog", "eel"));
        for (String method : AdapterMerger.methods()) {
            for (String convention : MergeRecipe.CONVENTIONS) {
                Map<String, Object> params = new HashMap<>();
                if (AdapterMerger.describe(method).params().contains("density")) params.put("density", 0.6);
                MergeRecipe r = recipe(method, convention, List.of(0.6, 0.4), params, 9);
                Adapter m = AdapterMerger.merge(List.of(a1, a2), r, Map.of("merged-from", "sha256:a,sha256:b"));
                assertThat(m.head().labels()).as(method).containsExactly("cat", "dog", "eel");
                assertThat(m.spec().scaling()).isEqualTo(1f);
                assertThat(m.provenance().method()).isEqualTo(AdapterProvenance.MERGED);
                assertThat(m.provenance().details())
                        .containsEntry("merge-method", method)
                        .containsEntry("merge-convention", convention)
                        .containsEntry("merge-weights", "0.6,0.4")
                        .containsEntry("merge-seed", "9")
                        .containsEntry("merged-from", "sha256:a,sha256:b")
                        .containsEntry("merge-operates-on", AdapterMerger.describe(method).operatesOn())
                        .containsKey("merge-params")
                        .containsEntry("merged-rank", String.valueOf(m.spec().rank()));
                assertThat(m.provenance().details().get("duplicate-labels")).contains("dog");
                for (HostTensor t : m.weights().values()) {
                    for (float v : t.data()) assertThat(Float.isFinite(v)).as(method).isTrue();
                }
                Adapter back = PeftAdapterFormat.fromZip(PeftAdapterFormat.toZip(m));
                assertThat(back.weights()).isEqualTo(m.weights());
            }
        }
    }

    // ---------------------------------------------------------------- input validation

    @Test
    void rejectsInputsThatDoNotFitTheMethod() {
        Adapter r2 = adapter(1, 2, 4f, List.of("a"));
        Adapter r4 = adapter(2, 4, 4f, List.of("b"));
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2, r4), recipe("ties", "peft", List.of(1.0, 1.0), Map.of("density", 0.5), 0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("method ties merges the LoRA factors element-wise and needs equal ranks, got [2, 4]");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2, r4), recipe("svd", "peft", List.of(1.0, 1.0), Map.of("svd_rank", 7), 0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("svd_rank 7 exceeds the rank of the weighted sum of deltas, at most 6");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2, r4),
                recipe("ties_svd", "peft", List.of(1.0, 1.0), Map.of("svd_rank", 9, "density", 0.5), 0), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("svd_rank 9 exceeds min(out, in) = 8 at layer 0 query");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2, r4), MergeRecipe.of("cat", List.of(1.0)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merge needs one weight per adapter: 2 adapters, 1 weights");
        Adapter qk = AdapterFixtures.randomAdapter(3, new LoraSpec(2, 4f, 0.1f, List.of("query", "key")), LAYERS, HIDDEN, List.of("c"), "sha256:base");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2, qk), MergeRecipe.of("cat", List.of(1.0, 1.0)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter 1 targets [query, key] but adapter 0 targets [query, value]");
        Adapter otherBase = AdapterFixtures.randomAdapter(4, new LoraSpec(2, 4f, 0.1f, QV), LAYERS, HIDDEN, List.of("d"), "sha256:other");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2, otherBase), MergeRecipe.of("linear", List.of(1.0, 1.0)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter 1 has base fingerprint sha256:other but adapter 0 has sha256:base");
        Adapter threeLayers = AdapterFixtures.randomAdapter(5, new LoraSpec(2, 4f, 0.1f, QV), 3, HIDDEN, List.of("e"), "sha256:base");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2, threeLayers), MergeRecipe.of("svd", List.of(1.0, 1.0)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter 1 wraps 6 sites (layers [0, 1, 2], modules [query, value]) but adapter 0 wraps 4 sites");
        Adapter wider = AdapterFixtures.randomAdapter(6, new LoraSpec(2, 4f, 0.1f, QV), LAYERS, 4, List.of("f"), "sha256:base");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2, wider), MergeRecipe.of("svd", List.of(1.0, 1.0)), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("adapter 1 at layer 0 query maps 4 -> 4 but adapter 0 maps 8 -> 8");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(), MergeRecipe.of("cat", List.of()), Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merge needs at least one adapter");
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(r2), null, Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merge recipe is required");
    }
}

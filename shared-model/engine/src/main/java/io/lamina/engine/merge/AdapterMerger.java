package io.lamina.engine.merge;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Offline merging of LoRA adapters into one LoRA adapter, on the host in double precision.
 *
 * <p>Three forms (see {@link MergeMethodInfo#operatesOn()}):
 * <ul>
 *   <li><b>Factor-wise</b> ({@code linear}, {@code ties}, {@code dare_linear}, {@code dare_ties},
 *       {@code magnitude_prune}; PEFT's {@code _generalized_task_arithmetic_weighted_adapter}): the A matrices
 *       are merged with weights {@code sign(w_i s_i)·sqrt|w_i s_i|} and the B matrices, separately, with
 *       {@code sqrt|w_i s_i|}. For one input this is exact; for several, {@code B'A'} contains cross terms
 *       {@code B_j A_i}, so the merged delta only approximates the merge of the deltas. Equal ranks required;
 *       the rank is kept.</li>
 *   <li><b>Full deltas, then SVD</b> ({@code svd}, {@code *_svd}, {@code breadcrumbs}, {@code della}): each
 *       {@code ΔW_i = s_i·B_i·A_i} is merged with weight {@code w_i}, and the result is truncated to
 *       {@code svd_rank} by SVD ({@link LowRank}).</li>
 *   <li><b>Exact</b> ({@code cat}, {@code task_arithmetic}, {@code model_stock}): a linear combination
 *       {@code Σ c_i ΔW_i} is a LoRA update of rank {@code Σ r_i}: {@code A = [c_i s_i A_i]} stacked by rows,
 *       {@code B = [B_i]} joined by columns (PEFT's {@code cat}). Nothing is lost.</li>
 * </ul>
 * The merged adapter always has {@code alpha = rank}, so its scaling {@code alpha / rank} is exactly 1 and its
 * delta is {@code B·A}: the inputs' scalings are folded into the factors (as PEFT, which sets
 * {@code lora_alpha = new_rank}). Dropout is the largest input dropout; the head is the union of the inputs'
 * classes (first prototype wins). Randomized methods draw one {@link Random} stream per (site, factor or
 * delta, input), seeded from {@link MergeRecipe#seed()} by a fixed mix, so a recipe reproduces bit for bit.
 */
public final class AdapterMerger {

    public static final String TASK_ARITHMETIC = "task_arithmetic";

    /** LoRA's largest rank in {@link LoraSpec}. */
    static final int MAX_RANK = 256;
    static final double DEFAULT_GAMMA = 0.01;
    static final double DEFAULT_EPSILON = 0.15;

    private AdapterMerger() {
    }

    /** The known method names, PEFT's combination types first. */
    public static List<String> methods() {
        return List.copyOf(MergeMethods.SPECS.keySet());
    }

    public static MergeMethodInfo describe(String method) {
        if (method == null) throw new IllegalArgumentException("method is required; known methods: " + String.join(", ", MergeMethods.SPECS.keySet()));
        MergeMethods.Spec s = MergeMethods.spec(method.trim().toLowerCase(Locale.ROOT));
        return new MergeMethodInfo(s.name(), s.operatesOn(), s.randomized(), s.allParams(), s.summary());
    }

    /**
     * Merges {@code inputs} as {@code recipe} says.
     *
     * @param provenanceDetails extra provenance (e.g. {@code merged-from}); kept as given, except the keys set here:
     *                          {@code merge-method}, {@code merge-convention}, {@code merge-weights},
     *                          {@code merge-params} (with defaults filled in), {@code merge-seed},
     *                          {@code merge-operates-on}, {@code merge-exact}, {@code merge-input-ranks},
     *                          {@code merged-rank}, {@code duplicate-labels}
     * @throws IllegalArgumentException naming the mismatch when the inputs cannot be merged this way
     */
    public static Adapter merge(List<Adapter> inputs, MergeRecipe recipe, Map<String, String> provenanceDetails) {
        if (recipe == null) throw new IllegalArgumentException("merge recipe is required");
        MergeInputs in = MergeInputs.check(inputs, recipe.weights());
        MergeMethods.Spec spec = MergeMethods.spec(recipe.method());
        Settings st = Settings.of(spec, recipe, in);

        int rank = switch (spec.form()) {
            case FACTORS -> factorRank(spec, in);
            case CONCAT, MODEL_STOCK -> concatRank(spec, in);
            case DELTAS -> st.svdRank;
        };

        double[] w = recipe.weights().stream().mapToDouble(Double::doubleValue).toArray();
        Map<String, HostTensor> merged = new TreeMap<>();
        for (MergeInputs.Site site : in.sites) {
            double[][] ab = switch (spec.form()) {
                case FACTORS -> factorWise(in, site, w, st, recipe.seed());
                case DELTAS -> viaSvd(in, site, w, st, recipe.seed());
                case CONCAT -> concat(in, site, concatCoefficients(in, w, st), null);
                case MODEL_STOCK -> modelStock(in, site, st.filterWise);
            };
            merged.put(LoraSpec.peftKey(site.layer(), site.module(), 'A'), tensor(ab[0], rank, site.in()));
            merged.put(LoraSpec.peftKey(site.layer(), site.module(), 'B'), tensor(ab[1], site.out(), rank));
        }

        Adapter first = in.adapters.get(0);
        float dropout = 0f;
        for (Adapter a : in.adapters) dropout = Math.max(dropout, a.spec().dropout());
        LoraSpec loraSpec = new LoraSpec(rank, rank, dropout, first.spec().targetModules());

        Set<String> duplicates = new TreeSet<>();
        PrototypeHead head = in.unionHead(duplicates);

        Map<String, String> details = new TreeMap<>();
        if (provenanceDetails != null) details.putAll(provenanceDetails);
        details.put("merge-method", spec.name());
        details.put("merge-convention", recipe.convention());
        details.put("merge-weights", recipe.weights().stream().map(String::valueOf).collect(Collectors.joining(",")));
        details.put("merge-params", st.resolved.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(",")));
        details.put("merge-seed", Long.toString(recipe.seed()));
        details.put("merge-operates-on", spec.operatesOn());
        details.put("merge-exact", Boolean.toString(spec.exact()));
        details.put("merge-input-ranks", in.adapters.stream().map(a -> String.valueOf(a.spec().rank())).collect(Collectors.joining(",")));
        details.put("merged-rank", String.valueOf(rank));
        if (duplicates.isEmpty()) {
            details.remove("duplicate-labels");
        } else {
            details.put("duplicate-labels", String.join(",", duplicates) + " (prototypes averaged over the adapters that have them)");
        }
        return Adapter.lora(loraSpec, merged, head, first.baseModelId(), first.baseFingerprint(),
                new AdapterProvenance(AdapterProvenance.MERGED, details));
    }

    // ---------------------------------------------------------------- settings

    /** A recipe's parameters with defaults filled in and checked against the inputs. */
    static final class Settings {
        final TaskTensors.Combine combine;
        final int svdRank;
        final Double svdClamp;
        final boolean fullMatrices;
        final boolean filterWise;
        final boolean normalize;
        final double lambda;
        final boolean mergekit;
        final Map<String, Object> resolved = new TreeMap<>();

        private Settings(MergeMethods.Spec spec, MergeRecipe recipe, MergeInputs in) {
            Map<String, Object> p = recipe.params();
            mergekit = MergeRecipe.MERGEKIT.equals(recipe.convention());
            double density = (Double) p.getOrDefault(MergeMethods.DENSITY, 1.0);
            String sign = (String) p.getOrDefault(MergeMethods.MAJORITY_SIGN_METHOD, "total");
            double gamma = (Double) p.getOrDefault(MergeMethods.GAMMA, DEFAULT_GAMMA);
            double epsilon = (Double) p.getOrDefault(MergeMethods.EPSILON, DEFAULT_EPSILON);
            normalize = mergekit && (Boolean) p.getOrDefault(MergeMethods.NORMALIZE, spec.normalizeByDefault());
            boolean rescale = mergekit && (Boolean) p.getOrDefault(MergeMethods.RESCALE, spec.rescaleByDefault());
            lambda = mergekit ? (Double) p.getOrDefault(MergeMethods.LAMBDA, 1.0) : 1.0;
            filterWise = (Boolean) p.getOrDefault(MergeMethods.FILTER_WISE, false);
            svdClamp = (Double) p.get(MergeMethods.SVD_CLAMP);
            fullMatrices = (Boolean) p.getOrDefault(MergeMethods.SVD_FULL_MATRICES, true);
            combine = new TaskTensors.Combine(spec.sparsifier(), spec.consensus(), mergekit, density,
                    sign.equals("frequency"), gamma, epsilon, normalize, rescale, lambda);

            int maxRank = 0, sumRank = 0;
            for (int i = 0; i < in.size(); i++) {
                maxRank = Math.max(maxRank, in.rank(i));
                sumRank += in.rank(i);
            }
            if (spec.usesSvd()) {
                svdRank = p.containsKey(MergeMethods.SVD_RANK) ? (Integer) p.get(MergeMethods.SVD_RANK) : maxRank;
                for (MergeInputs.Site site : in.sites) {
                    int limit = Math.min(site.in(), site.out());
                    if (svdRank > limit) {
                        throw new IllegalArgumentException("svd_rank " + svdRank + " exceeds min(out, in) = " + limit + " at " + site.label());
                    }
                }
                if (spec.sparsifier() == MergeMethods.Sparsifier.NONE && svdRank > sumRank) {
                    throw new IllegalArgumentException("svd_rank " + svdRank + " exceeds the rank of the weighted sum of deltas, at most "
                            + sumRank + " (the sum of the input ranks)");
                }
            } else {
                svdRank = 0;
            }

            for (String name : spec.params()) resolved.put(name, resolvedValue(name, p));
            if (mergekit) for (String name : spec.mergekitParams()) resolved.put(name, resolvedValue(name, p));
        }

        private Object resolvedValue(String name, Map<String, Object> p) {
            return switch (name) {
                case MergeMethods.DENSITY -> combine.density();
                case MergeMethods.MAJORITY_SIGN_METHOD -> combine.byFrequency() ? "frequency" : "total";
                case MergeMethods.SVD_RANK -> svdRank;
                case MergeMethods.SVD_CLAMP -> svdClamp == null ? "none" : svdClamp;
                case MergeMethods.SVD_FULL_MATRICES -> fullMatrices;
                case MergeMethods.GAMMA -> combine.gamma();
                case MergeMethods.EPSILON -> combine.epsilon();
                case MergeMethods.FILTER_WISE -> filterWise;
                case MergeMethods.NORMALIZE -> normalize;
                case MergeMethods.RESCALE -> combine.rescale();
                case MergeMethods.LAMBDA -> lambda;
                default -> p.get(name);
            };
        }

        static Settings of(MergeMethods.Spec spec, MergeRecipe recipe, MergeInputs in) {
            return new Settings(spec, recipe, in);
        }
    }

    private static int factorRank(MergeMethods.Spec spec, MergeInputs in) {
        int r = in.rank(0);
        for (int i = 1; i < in.size(); i++) {
            if (in.rank(i) != r) {
                List<Integer> ranks = new ArrayList<>();
                for (int j = 0; j < in.size(); j++) ranks.add(in.rank(j));
                throw new IllegalArgumentException("method " + spec.name() + " merges the LoRA factors element-wise and needs equal ranks, got "
                        + ranks + "; use cat, task_arithmetic, svd or a *_svd method for different ranks");
            }
        }
        return r;
    }

    private static int concatRank(MergeMethods.Spec spec, MergeInputs in) {
        if (spec.form() == MergeMethods.Form.MODEL_STOCK && in.size() < 2) {
            throw new IllegalArgumentException("model_stock needs at least 2 adapters (it averages over the angle between their deltas), got " + in.size());
        }
        int sum = 0;
        for (int i = 0; i < in.size(); i++) sum += in.rank(i);
        if (sum > MAX_RANK) {
            throw new IllegalArgumentException("merged rank " + sum + " (sum of input ranks) exceeds the LoRA maximum of " + MAX_RANK);
        }
        return sum;
    }

    // ---------------------------------------------------------------- the three forms

    /** PEFT's factor-wise merge: A with sign(w s)·sqrt|w s|, B with sqrt|w s|, each through the same kernel. */
    private static double[][] factorWise(MergeInputs in, MergeInputs.Site site, double[] w, Settings st, long seed) {
        int n = in.size(), r = in.rank(0);
        double[] wa = new double[n], wb = new double[n];
        double[][] as = new double[n][], bs = new double[n][];
        for (int i = 0; i < n; i++) {
            double ws = w[i] * in.scaling(i);
            double root = Math.sqrt(Math.abs(ws));
            wa[i] = ws >= 0 ? root : -root;
            wb[i] = root;
            as[i] = in.factor(i, site, 'A');
            bs[i] = in.factor(i, site, 'B');
        }
        double[] a = TaskTensors.combine(as, r, site.in(), wa, st.combine, i -> stream(seed, site, 'A', i));
        double[] b = TaskTensors.combine(bs, site.out(), r, wb, st.combine, i -> stream(seed, site, 'B', i));
        return new double[][]{a, b};
    }

    /**
     * Full deltas {@code ΔW_i = s_i B_i A_i} merged with weights {@code w_i}, then truncated SVD. (PEFT before
     * PR #3111 multiplied the weights by {@code s_i} a second time here; see docs/merging.md.)
     */
    private static double[][] viaSvd(MergeInputs in, MergeInputs.Site site, double[] w, Settings st, long seed) {
        int n = in.size();
        double[][] deltas = new double[n][];
        for (int i = 0; i < n; i++) deltas[i] = in.delta(i, site);
        double[] merged = TaskTensors.combine(deltas, site.out(), site.in(), w, st.combine, i -> stream(seed, site, 'D', i));
        LowRank.Factors f = LowRank.truncate(merged, site.out(), site.in(), st.svdRank, st.fullMatrices, st.svdClamp);
        return new double[][]{f.a(), f.b()};
    }

    /** {@code c_i = w_i s_i}; under mergekit, divided by {@code Σ w_i} when normalize, times lambda. */
    private static double[] concatCoefficients(MergeInputs in, double[] w, Settings st) {
        double div = 1;
        if (st.normalize) {
            div = 0;
            for (double x : w) div += x;
            if (Math.abs(div) < 1e-8) div = 1;
        }
        double[] c = new double[in.size()];
        for (int i = 0; i < c.length; i++) c[i] = w[i] * in.scaling(i) / div * st.lambda;
        return c;
    }

    /**
     * Exact: {@code A = [c_i A_i]} stacked, {@code B = [diag(rowScale) B_i]} joined, so {@code B A = Σ c_i diag(rowScale) B_i A_i}.
     *
     * @param rowScale per output row, or null for none
     */
    private static double[][] concat(MergeInputs in, MergeInputs.Site site, double[] c, double[] rowScale) {
        int total = 0;
        for (int i = 0; i < in.size(); i++) total += in.rank(i);
        int inDim = site.in(), out = site.out();
        double[] a = new double[total * inDim];
        double[] b = new double[out * total];
        int offset = 0;
        for (int i = 0; i < in.size(); i++) {
            int r = in.rank(i);
            double[] ai = in.factor(i, site, 'A');
            double[] bi = in.factor(i, site, 'B');
            for (int j = 0; j < r * inDim; j++) a[offset * inDim + j] = c[i] * ai[j];
            for (int o = 0; o < out; o++) {
                double g = rowScale == null ? 1 : rowScale[o];
                for (int k = 0; k < r; k++) b[o * total + offset + k] = g * bi[o * r + k];
            }
            offset += r;
        }
        return new double[][]{a, b};
    }

    /**
     * mergekit's Model Stock on the deltas (base = 0): {@code t = N·cosθ / (1 + (N−1)·cosθ)} with cosθ the mean
     * pairwise cosine (each clamped to [-1, 1], norms' product floored at 1e-6), result {@code t · mean(ΔW_i)}; per
     * output row when filter-wise. Written exactly as a concatenation.
     */
    private static double[][] modelStock(MergeInputs in, MergeInputs.Site site, boolean filterWise) {
        int n = in.size(), out = site.out(), inDim = site.in();
        double[][] d = new double[n][];
        for (int i = 0; i < n; i++) d[i] = in.delta(i, site);
        int groups = filterWise ? out : 1;
        int len = filterWise ? inDim : out * inDim;
        double[] t = new double[groups];
        for (int g = 0; g < groups; g++) {
            double cosSum = 0;
            int pairs = 0;
            for (int i = 0; i < n; i++) {
                for (int j = i + 1; j < n; j++) {
                    double dot = 0, ni = 0, nj = 0;
                    for (int k = g * len; k < (g + 1) * len; k++) {
                        dot += d[i][k] * d[j][k];
                        ni += d[i][k] * d[i][k];
                        nj += d[j][k] * d[j][k];
                    }
                    double cos = dot / Math.max(Math.sqrt(ni) * Math.sqrt(nj), 1e-6);
                    cosSum += Math.max(-1, Math.min(1, cos));
                    pairs++;
                }
            }
            double cos = cosSum / pairs;
            t[g] = n * cos / (1 + (n - 1) * cos);
            if (!Double.isFinite(t[g])) {
                throw new IllegalArgumentException("model_stock is undefined at " + site.label() + ": the mean cosine between deltas is "
                        + cos + ", so 1 + (N-1)·cos is 0");
            }
        }
        double[] c = new double[n];
        for (int i = 0; i < n; i++) c[i] = in.scaling(i) * (filterWise ? 1.0 / n : t[0] / n);
        return concat(in, site, c, filterWise ? t : null);
    }

    // ---------------------------------------------------------------- helpers

    private static HostTensor tensor(double[] data, int rows, int cols) {
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) f[i] = (float) data[i];
        return new HostTensor(new long[]{rows, cols}, f);
    }

    /**
     * The random stream of one tensor: a {@link Random} (fixed, documented algorithm) seeded by mixing the recipe's
     * seed with the site, the tensor's role ('A', 'B' or 'D' for a delta) and the input's position.
     */
    static Random stream(long seed, MergeInputs.Site site, char role, int input) {
        String key = site.layer() + "." + site.module() + "." + role;
        long h = mix64(seed + 0x9E3779B97F4A7C15L);
        h = mix64(h ^ key.hashCode());
        h = mix64(h + 0x9E3779B97F4A7C15L * (input + 1));
        return new Random(h);
    }

    /** SplitMix64's finaliser. */
    private static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

package io.lamina.engine.merge;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The merge catalogue: one {@link Spec} per method name. Every method is a choice along four axes, so the
 * merger has one code path per axis rather than one per method:
 * <ul>
 *   <li>{@link Form}: what is combined. {@code FACTORS} combines the A matrices and the B matrices separately
 *       (PEFT's {@code linear}, {@code ties}, {@code dare_*}, {@code magnitude_prune}; approximate, because
 *       {@code (Σ a_i A_i)(Σ b_i B_i)} has cross terms); {@code DELTAS} combines the full updates
 *       {@code ΔW_i = s_i B_i A_i} and truncates back to a rank by SVD; {@code CONCAT} and {@code MODEL_STOCK}
 *       form a weighted sum of full deltas exactly, by concatenating factors.</li>
 *   <li>{@link Sparsifier}: how each task tensor is pruned first.</li>
 *   <li>consensus: whether TIES sign election and the disjoint mean follow.</li>
 *   <li>the mergekit defaults of {@code normalize} and {@code rescale}, used under the mergekit convention.</li>
 * </ul>
 */
final class MergeMethods {

    static final String DENSITY = "density";
    static final String MAJORITY_SIGN_METHOD = "majority_sign_method";
    static final String SVD_RANK = "svd_rank";
    static final String SVD_CLAMP = "svd_clamp";
    static final String SVD_FULL_MATRICES = "svd_full_matrices";
    static final String GAMMA = "gamma";
    static final String EPSILON = "epsilon";
    static final String FILTER_WISE = "filter_wise";
    static final String NORMALIZE = "normalize";
    static final String RESCALE = "rescale";
    static final String LAMBDA = "lambda";

    /** Parameters that exist only under the mergekit convention. */
    static final List<String> MERGEKIT_ONLY = List.of(NORMALIZE, RESCALE, LAMBDA);

    enum Form { FACTORS, DELTAS, CONCAT, MODEL_STOCK }

    enum Sparsifier { NONE, MAGNITUDE, RANDOM, MAGNITUDE_OUTLIERS, DELLA }

    /**
     * @param params         parameters the method takes under either convention
     * @param normalizeByDefault mergekit's {@code default_normalize} for the method (divide by the summed weights)
     * @param rescaleByDefault   mergekit's {@code default_rescale} (restore each pruned tensor's L1 norm)
     */
    record Spec(String name, Form form, Sparsifier sparsifier, boolean consensus, boolean normalizeByDefault,
                boolean rescaleByDefault, List<String> params, String summary) {

        boolean randomized() { return sparsifier == Sparsifier.RANDOM || sparsifier == Sparsifier.DELLA; }

        boolean usesDensity() { return sparsifier != Sparsifier.NONE; }

        boolean usesSvd() { return form == Form.DELTAS; }

        String operatesOn() { return form == Form.FACTORS ? MergeMethodInfo.FACTORS : MergeMethodInfo.DELTAS; }

        /** True when the merged adapter's delta equals the recipe's target exactly (no pruning, no truncation). */
        boolean exact() { return form == Form.CONCAT || form == Form.MODEL_STOCK; }

        /** The parameters the method takes under the mergekit convention: its own, plus normalize/lambda/rescale where they mean something. */
        List<String> mergekitParams() {
            List<String> out = new ArrayList<>();
            if (form == Form.FACTORS || form == Form.DELTAS || name.equals(AdapterMerger.TASK_ARITHMETIC)) {
                out.add(NORMALIZE);
                out.add(LAMBDA);
            }
            if (sparsifier != Sparsifier.NONE) out.add(RESCALE);
            return out;
        }

        List<String> allParams() {
            List<String> out = new ArrayList<>(params);
            out.addAll(mergekitParams());
            return out;
        }
    }

    private static final List<String> SVD = List.of(SVD_RANK, SVD_CLAMP, SVD_FULL_MATRICES);

    static final Map<String, Spec> SPECS = new LinkedHashMap<>();

    private static void add(String name, Form form, Sparsifier sp, boolean consensus, boolean normalize, boolean rescale,
                            List<String> own, String summary) {
        List<String> params = new ArrayList<>(own);
        if (form == Form.DELTAS) params.addAll(SVD);
        SPECS.put(name, new Spec(name, form, sp, consensus, normalize, rescale, List.copyOf(params), summary));
    }

    private static final String FACTORWISE = " Element-wise on the LoRA factors A and B separately (PEFT): approximate, "
            + "the product of merged factors has cross terms between adapters; needs equal ranks; rank unchanged.";
    private static final String VIA_SVD = " On full deltas s_i·B_i·A_i, then truncated SVD to svd_rank (default: the "
            + "largest input rank); the truncation error is the norm of the dropped singular values.";

    static {
        add("linear", Form.FACTORS, Sparsifier.NONE, false, false, false, List.of(),
                "Weighted sum of the A matrices and of the B matrices (A gets sign(w·s)·sqrt|w·s|, B gets sqrt|w·s|)." + FACTORWISE);
        add("cat", Form.CONCAT, Sparsifier.NONE, false, false, false, List.of(),
                "Exact weighted sum of deltas by concatenating factors: A = [w_i·s_i·A_i] stacked, B = [B_i] joined; rank = sum of ranks.");
        add("svd", Form.DELTAS, Sparsifier.NONE, false, false, false, List.of(),
                "Weighted sum of full deltas." + VIA_SVD);
        add("ties", Form.FACTORS, Sparsifier.MAGNITUDE, true, true, false, List.of(DENSITY, MAJORITY_SIGN_METHOD),
                "TIES: keep the top density fraction by magnitude, elect a sign per entry, average the agreeing entries." + FACTORWISE);
        add("ties_svd", Form.DELTAS, Sparsifier.MAGNITUDE, true, true, false, List.of(DENSITY, MAJORITY_SIGN_METHOD),
                "TIES on full deltas." + VIA_SVD);
        add("dare_linear", Form.FACTORS, Sparsifier.RANDOM, false, false, true, List.of(DENSITY),
                "DARE: drop entries at random (keep probability density), rescale, weighted sum." + FACTORWISE);
        add("dare_ties", Form.FACTORS, Sparsifier.RANDOM, true, false, true, List.of(DENSITY, MAJORITY_SIGN_METHOD),
                "DARE pruning, then TIES sign election and disjoint merge." + FACTORWISE);
        add("dare_linear_svd", Form.DELTAS, Sparsifier.RANDOM, false, false, true, List.of(DENSITY),
                "DARE on full deltas, weighted sum." + VIA_SVD);
        add("dare_ties_svd", Form.DELTAS, Sparsifier.RANDOM, true, false, true, List.of(DENSITY, MAJORITY_SIGN_METHOD),
                "DARE then TIES on full deltas." + VIA_SVD);
        add("magnitude_prune", Form.FACTORS, Sparsifier.MAGNITUDE, false, false, false, List.of(DENSITY),
                "Keep the top density fraction by magnitude (no rescale), weighted sum." + FACTORWISE);
        add("magnitude_prune_svd", Form.DELTAS, Sparsifier.MAGNITUDE, false, false, false, List.of(DENSITY),
                "Magnitude pruning on full deltas, weighted sum." + VIA_SVD);
        add(AdapterMerger.TASK_ARITHMETIC, Form.CONCAT, Sparsifier.NONE, false, false, false, List.of(),
                "Task arithmetic: the exact weighted sum of full deltas (same result as cat); under mergekit, normalize "
                        + "divides by the sum of weights and lambda scales the result.");
        add("breadcrumbs", Form.DELTAS, Sparsifier.MAGNITUDE_OUTLIERS, false, false, false, List.of(DENSITY, GAMMA),
                "Model Breadcrumbs (mergekit): drop the largest gamma fraction and the smallest entries down to density, weighted sum." + VIA_SVD);
        add("della", Form.DELTAS, Sparsifier.DELLA, true, true, true, List.of(DENSITY, EPSILON, MAJORITY_SIGN_METHOD),
                "DELLA (mergekit): per-row keep probability from density-epsilon (smallest) to density+epsilon (largest), "
                        + "rescale, then TIES sign election and merge." + VIA_SVD);
        add("model_stock", Form.MODEL_STOCK, Sparsifier.NONE, false, false, false, List.of(FILTER_WISE),
                "Model Stock (mergekit): t·mean(ΔW_i) with t = N·cos/(1+(N-1)·cos) from the mean pairwise cosine of "
                        + "the deltas (per site, or per output row with filter_wise); weights are ignored; exact, rank = sum of ranks.");
    }

    private MergeMethods() {
    }

    static Spec spec(String name) {
        Spec s = SPECS.get(name);
        if (s == null) throw new IllegalArgumentException("unknown merge method '" + name + "'; known methods: " + String.join(", ", SPECS.keySet()));
        return s;
    }
}

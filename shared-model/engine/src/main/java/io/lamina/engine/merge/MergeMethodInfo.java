package io.lamina.engine.merge;

import java.util.List;

/**
 * What a merge method does, for catalogues and UIs.
 *
 * @param name       the method's name in {@link MergeRecipe#method()}
 * @param operatesOn {@link #FACTORS}: combines the LoRA factors A and B separately, element-wise, so the merged
 *                   delta only approximates the combination of the inputs' deltas (PEFT's {@code linear},
 *                   {@code ties}, {@code dare_*}, {@code magnitude_prune}); {@link #DELTAS}: combines the full
 *                   updates {@code ΔW_i = s_i·B_i·A_i} (exactly for {@code cat}, {@code task_arithmetic},
 *                   {@code model_stock}; with an SVD truncation for the others)
 * @param randomized whether the result depends on {@link MergeRecipe#seed()} (DARE, DELLA)
 * @param params     every parameter name the method accepts ({@code normalize}, {@code rescale} and
 *                   {@code lambda} only under the mergekit convention)
 */
public record MergeMethodInfo(String name, String operatesOn, boolean randomized, List<String> params, String summary) {
    public static final String FACTORS = "FACTORS";
    public static final String DELTAS = "DELTAS";

    public MergeMethodInfo {
        params = List.copyOf(params);
    }
}

package io.lamina.engine.merge;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MergeRecipeTest {

    private static final List<Double> W = List.of(0.5, 0.5);

    private static MergeRecipe recipe(String method, String convention, Map<String, Object> params) {
        return new MergeRecipe(method, convention, W, params, 0L);
    }

    private static void rejects(String method, String convention, Map<String, Object> params, String message) {
        assertThatThrownBy(() -> recipe(method, convention, params))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(message);
    }

    @Test
    void canonicalisesNamesAndParameterTypes() {
        Map<String, Object> raw = new HashMap<>();
        raw.put("density", 1);                       // JSON integer
        raw.put("majority_sign_method", "Frequency");
        raw.put("svd_rank", 4.0);                    // JSON number
        raw.put("svd_full_matrices", "false");
        raw.put("svd_clamp", null);                  // absent
        MergeRecipe r = recipe(" TIES_SVD ", null, raw);
        assertThat(r.method()).isEqualTo("ties_svd");
        assertThat(r.convention()).isEqualTo("peft");
        assertThat(r.params()).containsExactly(
                Map.entry("density", 1.0), Map.entry("majority_sign_method", "frequency"),
                Map.entry("svd_full_matrices", false), Map.entry("svd_rank", 4));
        assertThat(r).isEqualTo(recipe("ties_svd", "PEFT", Map.of("density", 1.0, "majority_sign_method", "frequency",
                "svd_rank", 4, "svd_full_matrices", false)));
        assertThat(MergeRecipe.of("cat", W).params()).isEmpty();
    }

    @Test
    void rejectsUnknownMethodsAndConventions() {
        rejects("slerp", "peft", Map.of(), "unknown merge method 'slerp'; known methods: linear, cat, svd, ties, ties_svd, dare_linear, "
                + "dare_ties, dare_linear_svd, dare_ties_svd, magnitude_prune, magnitude_prune_svd, task_arithmetic, breadcrumbs, della, model_stock");
        rejects(null, "peft", Map.of(), "merge method is required; known methods: linear, cat");
        rejects("cat", "axolotl", Map.of(), "unknown merge convention 'axolotl'; known conventions: peft, mergekit");
    }

    @Test
    void rejectsBadWeights() {
        assertThatThrownBy(() -> new MergeRecipe("cat", "peft", Arrays.asList(1.0, Double.NaN), Map.of(), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merge weight 1 must be finite, got NaN");
        assertThatThrownBy(() -> new MergeRecipe("cat", "peft", List.of(Double.NEGATIVE_INFINITY), Map.of(), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merge weight 0 must be finite, got -Infinity");
        assertThatThrownBy(() -> new MergeRecipe("cat", "peft", Arrays.asList(1.0, null), Map.of(), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merge weight 1 must be finite, got null");
        assertThatThrownBy(() -> new MergeRecipe("cat", "peft", null, Map.of(), 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("merge weights are required");
    }

    @Test
    void rejectsBadDensity() {
        rejects("ties", "peft", Map.of(), "method ties needs parameter density, the fraction of entries kept, in (0, 1]");
        rejects("dare_linear", "peft", Map.of("density", 0), "density must be in (0, 1], got 0.0");
        rejects("dare_linear", "peft", Map.of("density", 1.5), "density must be in (0, 1], got 1.5");
        rejects("dare_linear", "peft", Map.of("density", -0.1), "density must be in (0, 1], got -0.1");
        rejects("dare_linear", "peft", Map.of("density", "lots"), "parameter density must be a number, got 'lots'");
    }

    @Test
    void rejectsBadSvdAndSignParameters() {
        rejects("svd", "peft", Map.of("svd_rank", 0), "svd_rank must be at least 1, got 0");
        rejects("svd", "peft", Map.of("svd_rank", 2.5), "svd_rank must be an integer, got 2.5");
        rejects("svd", "peft", Map.of("svd_rank", 300), "svd_rank 300 exceeds the LoRA maximum rank of 256");
        rejects("svd", "peft", Map.of("svd_clamp", 1.2), "svd_clamp must be a quantile in [0, 1], got 1.2");
        rejects("svd", "peft", Map.of("svd_full_matrices", "yes"), "parameter svd_full_matrices must be true or false, got yes");
        rejects("ties", "peft", Map.of("density", 0.5, "majority_sign_method", "mass"),
                "majority_sign_method must be 'total' or 'frequency', got 'mass'");
        rejects("breadcrumbs", "peft", Map.of("density", 0.5, "gamma", 1.0), "gamma must be in [0, 1), got 1.0");
        rejects("della", "mergekit", Map.of("density", 0.9), "epsilon must keep density ± epsilon inside (0, 1): density 0.9, epsilon 0.15");
    }

    @Test
    void rejectsParametersTheMethodOrConventionDoesNotTake() {
        rejects("ties", "peft", Map.of("density", 0.5, "svd_rank", 4),
                "method ties does not take parameter 'svd_rank'; it takes [density, majority_sign_method]");
        rejects("cat", "peft", Map.of("densty", 0.5), "method cat does not take parameter 'densty'; it takes none");
        rejects("ties", "peft", Map.of("density", 0.5, "normalize", true),
                "parameter 'normalize' of method ties applies only under convention mergekit, this recipe uses peft");
        assertThat(recipe("ties", "mergekit", Map.of("density", 0.5, "normalize", false, "lambda", 0.8)).params())
                .containsEntry("normalize", false).containsEntry("lambda", 0.8);
        rejects("ties", "mergekit", Map.of("density", 0.5, "lambda", Double.POSITIVE_INFINITY), "lambda must be finite, got Infinity");
    }
}

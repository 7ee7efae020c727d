package io.lamina.engine.merge;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything that determines a merge, so that the same recipe on the same inputs gives bit-identical
 * tensors: the method (PEFT's {@code combination_type} names, plus {@code task_arithmetic},
 * {@code breadcrumbs}, {@code della}, {@code model_stock}; see {@link AdapterMerger#methods()}), the
 * convention ({@code peft}, the default, or {@code mergekit}; see {@code docs/merging.md}), one weight per
 * input adapter, method parameters, and the seed of the random masks (DARE, DELLA).
 *
 * <p>Parameters (names as in PEFT's {@code add_weighted_adapter} and mergekit's configs):
 * <ul>
 *   <li>{@code density} in (0, 1]: fraction of entries kept (required by pruning methods)</li>
 *   <li>{@code majority_sign_method}: {@code total} (default) or {@code frequency}</li>
 *   <li>{@code svd_rank} ≥ 1 (default: the largest input rank), {@code svd_clamp} a quantile in [0, 1]
 *       (default: no clamping), {@code svd_full_matrices} (default true; no effect on the result)</li>
 *   <li>{@code gamma} in [0, 1) (breadcrumbs, default 0.01), {@code epsilon} (della, default 0.15),
 *       {@code filter_wise} (model_stock, default false)</li>
 *   <li>mergekit convention only: {@code normalize}, {@code rescale} (defaults per method as in mergekit's
 *       registry) and {@code lambda} (default 1)</li>
 * </ul>
 * The compact constructor validates all of it, lower-cases method and convention, and stores the
 * parameters in canonical types ({@code Double}, {@code Integer}, {@code Boolean}, {@code String}) in name
 * order. Whether the weights match the inputs, and whether {@code svd_rank} fits them, is checked by
 * {@link AdapterMerger#merge}.
 *
 * @param convention {@code null} means {@code peft}
 * @param weights    one finite weight per input adapter, in input order
 * @param params     {@code null} means none; a {@code null} value means the parameter is absent
 */
public record MergeRecipe(String method, String convention, List<Double> weights, Map<String, Object> params, long seed) {

    public static final String PEFT = "peft";
    public static final String MERGEKIT = "mergekit";
    public static final List<String> CONVENTIONS = List.of(PEFT, MERGEKIT);

    public MergeRecipe {
        if (method == null || method.isBlank()) {
            throw new IllegalArgumentException("merge method is required; known methods: " + String.join(", ", MergeMethods.SPECS.keySet()));
        }
        method = method.trim().toLowerCase(Locale.ROOT);
        MergeMethods.Spec spec = MergeMethods.spec(method);

        convention = convention == null ? PEFT : convention.trim().toLowerCase(Locale.ROOT);
        if (!CONVENTIONS.contains(convention)) {
            throw new IllegalArgumentException("unknown merge convention '" + convention + "'; known conventions: " + String.join(", ", CONVENTIONS));
        }

        if (weights == null) throw new IllegalArgumentException("merge weights are required, one per adapter");
        for (int i = 0; i < weights.size(); i++) {
            Double w = weights.get(i);
            if (w == null || !Double.isFinite(w)) throw new IllegalArgumentException("merge weight " + i + " must be finite, got " + w);
        }
        weights = List.copyOf(weights);

        params = canonical(spec, convention, params == null ? Map.of() : params);
    }

    /** A recipe without parameters or seed, e.g. {@code of("cat", List.of(0.5, 0.5))}. */
    public static MergeRecipe of(String method, List<Double> weights) {
        return new MergeRecipe(method, PEFT, weights, Map.of(), 0L);
    }

    private static Map<String, Object> canonical(MergeMethods.Spec spec, String convention, Map<String, Object> raw) {
        List<String> accepted = new ArrayList<>(spec.params());
        if (MERGEKIT.equals(convention)) accepted.addAll(spec.mergekitParams());
        TreeMap<String, Object> out = new TreeMap<>();
        for (Map.Entry<String, Object> e : raw.entrySet()) {
            String name = e.getKey();
            if (name == null) throw new IllegalArgumentException("merge parameter names must not be null");
            if (e.getValue() == null) continue;
            if (!accepted.contains(name)) {
                if (spec.allParams().contains(name)) {
                    throw new IllegalArgumentException("parameter '" + name + "' of method " + spec.name()
                            + " applies only under convention mergekit, this recipe uses " + convention);
                }
                throw new IllegalArgumentException("method " + spec.name() + " does not take parameter '" + name + "'; it takes "
                        + (accepted.isEmpty() ? "none" : accepted.toString()));
            }
            out.put(name, value(name, e.getValue()));
        }

        if (spec.usesDensity() && !out.containsKey(MergeMethods.DENSITY)) {
            throw new IllegalArgumentException("method " + spec.name() + " needs parameter density, the fraction of entries kept, in (0, 1]");
        }
        Object d = out.get(MergeMethods.DENSITY);
        if (d != null) {
            double density = (Double) d;
            if (!(density > 0 && density <= 1)) throw new IllegalArgumentException("density must be in (0, 1], got " + density);
        }
        Object m = out.get(MergeMethods.MAJORITY_SIGN_METHOD);
        if (m != null && !m.equals("total") && !m.equals("frequency")) {
            throw new IllegalArgumentException("majority_sign_method must be 'total' or 'frequency', got '" + m + "'");
        }
        Object r = out.get(MergeMethods.SVD_RANK);
        if (r != null) {
            int rank = (Integer) r;
            if (rank < 1) throw new IllegalArgumentException("svd_rank must be at least 1, got " + rank);
            if (rank > AdapterMerger.MAX_RANK) {
                throw new IllegalArgumentException("svd_rank " + rank + " exceeds the LoRA maximum rank of " + AdapterMerger.MAX_RANK);
            }
        }
        Object c = out.get(MergeMethods.SVD_CLAMP);
        if (c != null) {
            double q = (Double) c;
            if (!(q >= 0 && q <= 1)) throw new IllegalArgumentException("svd_clamp must be a quantile in [0, 1], got " + q);
        }
        Object g = out.get(MergeMethods.GAMMA);
        if (g != null) {
            double gamma = (Double) g;
            if (!(gamma >= 0 && gamma < 1)) throw new IllegalArgumentException("gamma must be in [0, 1), got " + gamma);
        }
        if (spec.sparsifier() == MergeMethods.Sparsifier.DELLA) {
            double density = (Double) out.get(MergeMethods.DENSITY);
            double eps = (Double) out.getOrDefault(MergeMethods.EPSILON, AdapterMerger.DEFAULT_EPSILON);
            if (!(eps >= 0)) throw new IllegalArgumentException("epsilon must be non-negative, got " + eps);
            if (density < 1 && (density + eps >= 1 || density - eps <= 0)) {
                throw new IllegalArgumentException("epsilon must keep density ± epsilon inside (0, 1): density " + density + ", epsilon " + eps);
            }
        }
        Object l = out.get(MergeMethods.LAMBDA);
        if (l != null && !Double.isFinite((Double) l)) throw new IllegalArgumentException("lambda must be finite, got " + l);
        return Collections.unmodifiableMap(out);
    }

    /** A number given as a JSON number or a numeric string; {@code error} + the value otherwise. */
    private static double number(Object v, String error) {
        if (v instanceof Number n) return n.doubleValue();
        if (v instanceof String s) {
            try {
                return Double.parseDouble(s.trim());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException(error + "'" + s + "'");
            }
        }
        throw new IllegalArgumentException(error + v);
    }

    private static Object value(String name, Object v) {
        switch (name) {
            case MergeMethods.DENSITY, MergeMethods.SVD_CLAMP, MergeMethods.GAMMA, MergeMethods.EPSILON, MergeMethods.LAMBDA -> {
                double x = number(v, "parameter " + name + " must be a number, got ");
                if (Double.isNaN(x)) throw new IllegalArgumentException("parameter " + name + " must be a number, got NaN");
                return x;
            }
            case MergeMethods.SVD_RANK -> {
                double x = number(v, "svd_rank must be an integer, got ");
                if (x != Math.rint(x) || Math.abs(x) > Integer.MAX_VALUE) throw new IllegalArgumentException("svd_rank must be an integer, got " + v);
                return (int) x;
            }
            case MergeMethods.SVD_FULL_MATRICES, MergeMethods.FILTER_WISE, MergeMethods.NORMALIZE, MergeMethods.RESCALE -> {
                if (v instanceof Boolean b) return b;
                if (v instanceof String s && (s.trim().equalsIgnoreCase("true") || s.trim().equalsIgnoreCase("false"))) {
                    return Boolean.parseBoolean(s.trim());
                }
                throw new IllegalArgumentException("parameter " + name + " must be true or false, got " + v);
            }
            case MergeMethods.MAJORITY_SIGN_METHOD -> {
                return String.valueOf(v).trim().toLowerCase(Locale.ROOT);
            }
            default -> throw new IllegalStateException("no type for parameter " + name);
        }
    }
}

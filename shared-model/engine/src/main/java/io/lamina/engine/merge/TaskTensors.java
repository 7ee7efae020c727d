package io.lamina.engine.merge;

import java.util.Arrays;
import java.util.Random;
import java.util.function.IntFunction;

/**
 * The element-wise kernels of generalized task arithmetic on "task tensors" (row-major {@code double[]} of
 * one shape: a LoRA factor, or a full delta): sparsify each tensor, weight it, optionally elect a sign per
 * entry (TIES) and average the agreeing entries. The two conventions differ only here; see
 * {@code docs/merging.md}. Sources read: PEFT {@code src/peft/utils/merge_utils.py} ({@code prune},
 * {@code magnitude_based_pruning}, {@code random_pruning}, {@code calculate_majority_sign_mask},
 * {@code disjoint_merge}, {@code ties}, {@code dare_*}) and mergekit {@code mergekit/sparsify.py},
 * {@code mergekit/merge_methods/generalized_task_arithmetic.py} ({@code GTATask.execute}, {@code get_mask}).
 *
 * <p>Ties in magnitude are broken by position (the earlier entry ranks higher), where torch's
 * {@code topk}/{@code argsort} leave the order unspecified.
 */
final class TaskTensors {

    /** mergekit's floor below which a tensor's L1 norm is not restored ({@code rescaled_masked_tensor}'s eps). */
    static final double L1_EPS = 1e-7;

    /**
     * How to combine, resolved from a recipe.
     *
     * @param mergekit    false: PEFT's rules; true: mergekit's
     * @param byFrequency majority_sign_method {@code frequency} (mergekit: consensus {@code count})
     * @param normalize   mergekit only: divide by the summed (agreeing) weights
     * @param rescale     mergekit only: restore each pruned tensor's L1 norm
     * @param lambda      mergekit only: scale of the mixed tensor
     */
    record Combine(MergeMethods.Sparsifier sparsifier, boolean consensus, boolean mergekit, double density,
                   boolean byFrequency, double gamma, double epsilon, boolean normalize, boolean rescale, double lambda) {
    }

    private TaskTensors() {
    }

    /**
     * Merges {@code tensors[i]} (each {@code rows × cols}) with {@code weights[i]}.
     *
     * @param rng the random stream of tensor {@code i}; only called by randomized sparsifiers
     */
    static double[] combine(double[][] tensors, int rows, int cols, double[] weights, Combine c, IntFunction<Random> rng) {
        double[][] pruned = new double[tensors.length][];
        for (int i = 0; i < tensors.length; i++) {
            pruned[i] = sparsify(tensors[i], rows, cols, c, c.sparsifier() == MergeMethods.Sparsifier.RANDOM
                    || c.sparsifier() == MergeMethods.Sparsifier.DELLA ? rng.apply(i) : null);
        }
        return mix(pruned, weights, c);
    }

    // ---------------------------------------------------------------- sparsify

    static double[] sparsify(double[] t, int rows, int cols, Combine c, Random rnd) {
        double d = c.density();
        if (c.sparsifier() == MergeMethods.Sparsifier.NONE || d >= 1) return t.clone(); // both tools: density >= 1 is a no-op
        switch (c.sparsifier()) {
            case MAGNITUDE -> {
                boolean[] keep = magnitudeMask(t, d);
                return c.mergekit() && c.rescale() ? l1Rescaled(t, keep) : masked(t, keep);
            }
            case RANDOM -> {
                boolean[] keep = bernoulli(rnd, t.length, d);
                if (c.mergekit()) return c.rescale() ? l1Rescaled(t, keep) : masked(t, keep);
                double[] out = masked(t, keep); // PEFT random_pruning(rescale=True): tensor * mask / density
                for (int j = 0; j < out.length; j++) out[j] = out[j] / d;
                return out;
            }
            case MAGNITUDE_OUTLIERS -> {
                boolean[] keep = outlierMask(t, d, c.gamma());
                return c.mergekit() && c.rescale() ? l1Rescaled(t, keep) : masked(t, keep);
            }
            case DELLA -> {
                double[] p = dellaProbabilities(t, rows, cols, d, c.epsilon());
                boolean[] keep = new boolean[t.length];
                for (int j = 0; j < t.length; j++) keep[j] = rnd.nextDouble() < p[j];
                if (c.mergekit()) return c.rescale() ? l1Rescaled(t, keep) : masked(t, keep);
                double[] out = masked(t, keep); // PEFT convention: inverse keep probability, as DARE's 1/density
                for (int j = 0; j < out.length; j++) out[j] = out[j] / p[j];
                return out;
            }
            default -> throw new IllegalStateException(c.sparsifier().name());
        }
    }

    /** PEFT {@code magnitude_based_pruning} / mergekit {@code magnitude}: keep the {@code int(density·n)} largest |x|. */
    static boolean[] magnitudeMask(double[] t, double density) {
        int k = (int) (density * t.length);
        Integer[] order = byMagnitude(t, false);
        boolean[] keep = new boolean[t.length];
        for (int j = 0; j < k; j++) keep[order[j]] = true;
        return keep;
    }

    /**
     * mergekit {@code magnitude_outliers} (Model Breadcrumbs): drop the {@code int(gamma·n)} largest |x| and then the
     * smallest, so that {@code int(density·n)} remain (fewer large ones are dropped when that is impossible).
     * mergekit slices {@code indices[n_bot:-n_top]}, which keeps nothing when {@code n_top} is 0; here that case
     * keeps the top {@code int(density·n)}.
     */
    static boolean[] outlierMask(double[] t, double density, double gamma) {
        int n = t.length;
        int target = (int) (density * n);
        int nTop = (int) (gamma * n);
        int nBot = n - target - nTop;
        if (nBot < 0) {
            nTop += nBot;
            nBot = 0;
        }
        Integer[] ascending = byMagnitude(t, true);
        boolean[] keep = new boolean[n];
        for (int j = nBot; j < n - nTop; j++) keep[ascending[j]] = true;
        return keep;
    }

    /**
     * mergekit {@code della_magprune}: per row, entries ranked by |x| (1 = smallest) get keep probability
     * {@code density - epsilon + 2·epsilon·(rank - 1)/(cols - 1)}; a one-column row gets {@code density}.
     */
    static double[] dellaProbabilities(double[] t, int rows, int cols, double density, double epsilon) {
        double[] p = new double[t.length];
        for (int r = 0; r < rows; r++) {
            double[] row = Arrays.copyOfRange(t, r * cols, (r + 1) * cols);
            Integer[] ascending = byMagnitude(row, true);
            for (int rank = 0; rank < cols; rank++) {
                double norm = cols > 1 ? (double) rank / (cols - 1) : 0.5;
                p[r * cols + ascending[rank]] = (density - epsilon) + norm * 2 * epsilon;
            }
        }
        return p;
    }

    /** Bernoulli(density) keep mask, one {@link Random#nextDouble()} per entry in row-major order. */
    static boolean[] bernoulli(Random rnd, int n, double density) {
        boolean[] keep = new boolean[n];
        for (int j = 0; j < n; j++) keep[j] = rnd.nextDouble() < density;
        return keep;
    }

    static double[] masked(double[] t, boolean[] keep) {
        double[] out = new double[t.length];
        for (int j = 0; j < t.length; j++) if (keep[j]) out[j] = t[j];
        return out;
    }

    /** mergekit {@code rescaled_masked_tensor(norm=l1)}: mask, then restore the tensor's L1 norm. */
    static double[] l1Rescaled(double[] t, boolean[] keep) {
        double[] out = masked(t, keep);
        double before = 0, after = 0;
        for (int j = 0; j < t.length; j++) {
            before += Math.abs(t[j]);
            after += Math.abs(out[j]);
        }
        if (before < L1_EPS || after < L1_EPS) return out;
        double f = before / after;
        for (int j = 0; j < out.length; j++) out[j] *= f;
        return out;
    }

    /** Indices ordered by |x|, ascending or descending; equal magnitudes keep index order. */
    private static Integer[] byMagnitude(double[] t, boolean ascending) {
        Integer[] idx = new Integer[t.length];
        for (int j = 0; j < idx.length; j++) idx[j] = j;
        Arrays.sort(idx, (x, y) -> {
            int c = Double.compare(Math.abs(t[x]), Math.abs(t[y]));
            return c != 0 ? (ascending ? c : -c) : Integer.compare(x, y);
        });
        return idx;
    }

    // ---------------------------------------------------------------- mix

    /**
     * Weighted combination of pruned tensors.
     * <ul>
     *   <li>no consensus: {@code Σ w_i p_i}; mergekit with normalize divides by {@code Σ w_i} (kept if |Σ w_i| < 1e-8)</li>
     *   <li>PEFT consensus: sign elected on the UNWEIGHTED {@code p_i} ({@code total}: sign Σ p_i;
     *       {@code frequency}: sign Σ sign p_i; 0 counts as +), {@code M_i = [sign p_i = elected]},
     *       result {@code Σ M_i w_i p_i / max(1, Σ M_i)}</li>
     *   <li>mergekit consensus: sign elected on the WEIGHTED {@code w_i p_i}, {@code M_i = [sign(w_i p_i) = elected]},
     *       result {@code Σ M_i w_i p_i}, divided by {@code Σ M_i w_i} (1 where that is 0) when normalize</li>
     * </ul>
     * mergekit then multiplies by lambda.
     */
    static double[] mix(double[][] p, double[] w, Combine c) {
        int n = p.length, len = p[0].length;
        double[] out = new double[len];
        if (!c.consensus()) {
            for (int j = 0; j < len; j++) {
                double s = 0;
                for (int i = 0; i < n; i++) s += w[i] * p[i][j];
                out[j] = s;
            }
            if (c.mergekit() && c.normalize()) {
                double div = 0;
                for (double x : w) div += x;
                if (Math.abs(div) < 1e-8) div = 1;
                for (int j = 0; j < len; j++) out[j] /= div;
            }
        } else if (!c.mergekit()) {
            for (int j = 0; j < len; j++) {
                double elect = 0;
                for (int i = 0; i < n; i++) elect += c.byFrequency() ? Math.signum(p[i][j]) : p[i][j];
                double majority = elect >= 0 ? 1 : -1;
                double sum = 0;
                int count = 0;
                for (int i = 0; i < n; i++) {
                    if (Math.signum(p[i][j]) == majority) {
                        sum += w[i] * p[i][j];
                        count++;
                    }
                }
                out[j] = sum / Math.max(1, count);
            }
        } else {
            double[] weighted = new double[n];
            for (int j = 0; j < len; j++) {
                double elect = 0;
                for (int i = 0; i < n; i++) {
                    weighted[i] = w[i] * p[i][j];
                    elect += c.byFrequency() ? Math.signum(weighted[i]) : weighted[i];
                }
                double majority = elect >= 0 ? 1 : -1;
                double sum = 0, div = 0;
                for (int i = 0; i < n; i++) {
                    if (Math.signum(weighted[i]) == majority) {
                        sum += weighted[i];
                        div += w[i];
                    }
                }
                out[j] = c.normalize() ? sum / (div == 0 ? 1 : div) : sum;
            }
        }
        if (c.mergekit() && c.lambda() != 1) {
            for (int j = 0; j < len; j++) out[j] *= c.lambda();
        }
        return out;
    }
}

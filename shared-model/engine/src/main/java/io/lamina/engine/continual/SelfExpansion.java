package io.lamina.engine.continual;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * SEMA's expansion test at adapter granularity: a new task's texts (their base-model embeddings)
 * are scored against every existing adapter's {@link TaskDescriptor}; when even the best-matching
 * descriptor's z-score is above the threshold, the task is a distribution shift and gets a new
 * adapter, otherwise it reuses the best-matching adapter's weights and only gets a head.
 */
public final class SelfExpansion {
    private SelfExpansion() {
    }

    /**
     * @param expand  {@code true}: train a new adapter
     * @param reuse   index of the candidate to reuse when not expanding, else {@code -1}
     * @param zScores one per candidate, in order ({@code NaN} for a candidate without a descriptor)
     */
    public record Decision(boolean expand, int reuse, double[] zScores) {
        @Override
        public String toString() {
            return (expand ? "expand" : "reuse " + reuse) + " z=" + Arrays.toString(zScores);
        }
    }

    /** Candidates without a descriptor ({@code null}) never match; no candidates at all means expand. */
    public static Decision decide(List<TaskDescriptor> candidates, float[][] embeddings, double threshold) {
        if (!(threshold > 0)) throw new IllegalArgumentException("expansion threshold must be > 0, got " + threshold);
        double[] z = new double[candidates.size()];
        int best = -1;
        List<float[]> batch = new ArrayList<>(Arrays.asList(embeddings));
        for (int k = 0; k < z.length; k++) {
            TaskDescriptor d = candidates.get(k);
            z[k] = d == null ? Double.NaN : d.zScore(batch);
            if (d != null && (best < 0 || z[k] < z[best])) best = k;
        }
        boolean expand = best < 0 || z[best] > threshold;
        return new Decision(expand, expand ? -1 : best, z);
    }
}

package io.lamina.engine.metrics;

import java.util.ArrayList;
import java.util.List;

/**
 * Standard continual-learning metrics from an accuracy matrix {@code R}: row {@code i} is measured
 * after training task {@code i}, column {@code j} is the accuracy on task {@code j}'s test set. Only the
 * lower triangle ({@code j <= i}) is read; row {@code i} must have at least {@code i + 1} entries and
 * any entries right of the diagonal are ignored, so both triangular (jagged) and square matrices work.
 * For the latest row {@code t}:
 * <ul>
 *   <li>average accuracy {@code A_t = mean_{j<=t} R[t][j]};</li>
 *   <li>average forgetting {@code F_t = mean_{j<t} (max_{j<=k<t} R[k][j] - R[t][j])} (Chaudhry et al. 2018;
 *       negative when a task got better), 0 when {@code t = 0};</li>
 *   <li>backward transfer {@code BWT_t = mean_{j<t} (R[t][j] - R[j][j])} (Lopez-Paz &amp; Ranzato 2017), 0 when {@code t = 0}.</li>
 * </ul>
 */
public final class ContinualMetrics {

    /**
     * @param tasks                      number of rows (tasks learned so far), {@code t + 1}
     * @param averageAccuracy            {@code A_t}
     * @param averageForgetting          {@code F_t}
     * @param backwardTransfer           {@code BWT_t}
     * @param averageAccuracyPerRow      {@code A_i} for every row {@code i = 0..t}
     * @param averageIncrementalAccuracy mean of {@code averageAccuracyPerRow}
     * @param forgettingPerTask          {@code max_{j<=k<t} R[k][j] - R[t][j]} for {@code j = 0..t-1}
     */
    public record Result(int tasks, double averageAccuracy, double averageForgetting, double backwardTransfer,
                         List<Double> averageAccuracyPerRow, double averageIncrementalAccuracy, List<Double> forgettingPerTask) {
        public Result {
            averageAccuracyPerRow = List.copyOf(averageAccuracyPerRow);
            forgettingPerTask = List.copyOf(forgettingPerTask);
        }
    }

    private ContinualMetrics() {
    }

    /** Metrics for the latest row of {@code r}. */
    public static Result compute(double[][] r) {
        validate(r);
        int t = r.length - 1;
        List<Double> perRow = new ArrayList<>(r.length);
        double sumRows = 0;
        for (int i = 0; i <= t; i++) {
            double s = 0;
            for (int j = 0; j <= i; j++) s += r[i][j];
            perRow.add(s / (i + 1));
            sumRows += s / (i + 1);
        }
        List<Double> forgetting = new ArrayList<>(t);
        double sumF = 0;
        double sumBwt = 0;
        for (int j = 0; j < t; j++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int k = j; k < t; k++) best = Math.max(best, r[k][j]);
            double f = best - r[t][j];
            forgetting.add(f);
            sumF += f;
            sumBwt += r[t][j] - r[j][j];
        }
        return new Result(r.length, perRow.get(t), t == 0 ? 0.0 : sumF / t, t == 0 ? 0.0 : sumBwt / t,
                perRow, sumRows / r.length, forgetting);
    }

    /** The same from nested lists (e.g. read from JSON). */
    public static Result compute(List<? extends List<? extends Number>> r) {
        if (r == null) throw new IllegalArgumentException("accuracy matrix must not be null");
        double[][] m = new double[r.size()][];
        for (int i = 0; i < m.length; i++) {
            List<? extends Number> row = r.get(i);
            if (row == null) throw new IllegalArgumentException("accuracy matrix row " + i + " is null");
            m[i] = new double[row.size()];
            for (int j = 0; j < m[i].length; j++) {
                Number v = row.get(j);
                if (v == null) {
                    if (j <= i) throw new IllegalArgumentException("accuracy R[" + i + "][" + j + "] is null");
                    m[i][j] = Double.NaN; // right of the diagonal: ignored
                } else {
                    m[i][j] = v.doubleValue();
                }
            }
        }
        return compute(m);
    }

    private static void validate(double[][] r) {
        if (r == null) throw new IllegalArgumentException("accuracy matrix must not be null");
        if (r.length == 0) throw new IllegalArgumentException("accuracy matrix needs at least one row");
        for (int i = 0; i < r.length; i++) {
            if (r[i] == null) throw new IllegalArgumentException("accuracy matrix row " + i + " is null");
            if (r[i].length < i + 1) {
                throw new IllegalArgumentException("accuracy matrix row " + i + " has " + r[i].length + " entries, needs at least " + (i + 1) + " (tasks 0.." + i + ")");
            }
            if (r[i].length > r.length) {
                throw new IllegalArgumentException("accuracy matrix row " + i + " has " + r[i].length + " entries but there are only " + r.length + " tasks");
            }
            for (int j = 0; j <= i; j++) {
                double v = r[i][j];
                if (!(v >= 0.0 && v <= 1.0)) {
                    throw new IllegalArgumentException("accuracy R[" + i + "][" + j + "] = " + v + " is not in [0, 1]");
                }
            }
        }
    }

}

package io.lamina.contracts;

import java.util.List;

/**
 * AdapterTune's rank as capacity: before a task's adapter is trained, train each of {@code ranks}
 * with {@code seeds} seeds on most of the training data, score each on the rest, and train the task's
 * adapter with the smallest rank whose mean validation accuracy is within {@code tolerance} of the best.
 * Absent fields take the defaults: ranks 2, 4, 8, 16; 1 seed; tolerance 0.01.
 */
public record RankSweepSettings(List<Integer> ranks, Integer seeds, Double tolerance) {
}

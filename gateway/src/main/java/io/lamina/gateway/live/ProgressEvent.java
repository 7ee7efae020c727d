package io.lamina.gateway.live;

import io.lamina.contracts.messages.TrainingProgress;

import java.time.Instant;

/**
 * One training step as the dashboard sees it: a {@link TrainingProgress} without what only the
 * platform needs (the Temporal task token stays inside). The worker also reports step 0: once when a
 * job starts (no total yet, no loss) and during a rank sweep (the sweep's own runs).
 *
 * @param loss              cross-entropy of the step's batch; null when there is none yet
 * @param examplesPerSecond throughput of the step; null when there is none yet
 * @param device            where the job trains, e.g. {@code cpu()} or {@code gpu(0)}; null from older workers
 */
public record ProgressEvent(String eventId, Instant occurredAt, String streamId, String taskKey, String jobId,
                            int step, int totalSteps, int epoch, Double loss, Double examplesPerSecond, String device) {

    static ProgressEvent of(TrainingProgress p) {
        return new ProgressEvent(p.eventId(), p.occurredAt(), p.streamId(), p.taskKey(), p.jobId(), p.step(), p.totalSteps(),
                p.epoch(), finite(p.loss()), p.step() == 0 && p.totalSteps() == 0 ? null : finite(p.examplesPerSecond()), p.device());
    }

    /** JSON has no NaN: a value that is not a finite number is left out. */
    private static Double finite(double x) {
        return Double.isFinite(x) ? x : null;
    }
}

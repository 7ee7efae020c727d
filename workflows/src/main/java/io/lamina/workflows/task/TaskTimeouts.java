package io.lamina.workflows.task;

import java.time.Duration;

/**
 * Operator settings for the activities of a task (read once per task through an activity, so
 * the workflow stays deterministic).
 *
 * @param trainingHeartbeat  a training worker that sends no progress for this long is presumed
 *                           dead: the job is retried and resumes from its checkpoint
 * @param training           the longest a training job may take
 * @param command            registry, evaluation, merge and lookup commands
 */
public record TaskTimeouts(Duration trainingHeartbeat, Duration training, Duration command) {
    public TaskTimeouts {
        if (trainingHeartbeat == null) trainingHeartbeat = Duration.ofMinutes(5);
        if (training == null) training = Duration.ofHours(2);
        if (command == null) command = Duration.ofMinutes(15);
    }
}

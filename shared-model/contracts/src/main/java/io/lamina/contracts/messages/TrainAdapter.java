package io.lamina.contracts.messages;

import io.lamina.contracts.AdapterSettings;
import io.lamina.contracts.ContinualTraining;
import io.lamina.contracts.TrainingSettings;

import java.time.Instant;

/**
 * Train one adapter on one dataset. {@code jobId} is stable across retries of the same activity,
 * so a retried job resumes from its checkpoint. {@code warmStartBlobKey} and {@code continual} are optional.
 */
public record TrainAdapter(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                           String taskKey, String jobId, String taskToken, String datasetId, String description,
                           AdapterSettings adapter, TrainingSettings training, String warmStartAdapterId,
                           String warmStartBlobKey, ContinualTraining continual) implements AsyncCommand {
}

package io.lamina.contracts.messages;

import java.time.Instant;

/**
 * A new generator version is stored and serves generation from now on.
 *
 * @param trainingAdapters adapters (ICM-LoRA) or task datasets (GenerativeAdapter) it learned from
 * @param samples          checkpoints (ICM-LoRA) or episodes (GenerativeAdapter)
 */
public record GeneratorTrained(String eventId, int schemaVersion, Instant occurredAt, String streamId, String taskToken,
                               String generatorId, String method, int version, int trainingAdapters, int samples,
                               double seconds) implements AsyncReply {
}

package io.lamina.contracts.messages;

import java.time.Instant;

/**
 * The registered adapter generated for a task, or, when no generator fits yet, the nearest
 * registered adapter ({@code method = "nearest"}, {@code generatorId = null}); all ids null when
 * there is neither.
 */
public record AdapterGenerated(String eventId, int schemaVersion, Instant occurredAt, String streamId, String taskToken,
                               String adapterId, String blobKey, String method, String generatorId,
                               double generationMillis) implements AsyncReply {
}

package io.lamina.contracts.messages;

import java.time.Instant;
import java.util.List;

/** Ingestion stored a valid, immutable dataset; the workflows start or extend the stream. */
public record DatasetIngested(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                              String datasetId, String taskKey, String name, String description,
                              List<String> labels, int trainSize, int testSize, String sha256,
                              String sourceEventId) implements LaminaMessage {
}

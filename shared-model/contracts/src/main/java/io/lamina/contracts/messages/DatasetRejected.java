package io.lamina.contracts.messages;

import java.time.Instant;
import java.util.List;

/** Ingestion refused a well-formed announcement; {@code reasons} name each problem. */
public record DatasetRejected(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                              String taskKey, String sourceEventId, List<String> reasons) implements LaminaMessage {
}

package io.lamina.contracts.messages;

import java.time.Instant;

/** The registry changed an adapter's status. */
public record AdapterStatusChanged(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                   String taskToken, String adapterId, String status,
                                   String reason) implements AsyncReply {
}

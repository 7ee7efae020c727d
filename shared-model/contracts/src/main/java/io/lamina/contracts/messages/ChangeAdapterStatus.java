package io.lamina.contracts.messages;

import java.time.Instant;

/** Promote (status PROMOTED, alias moved) or reject (status REJECTED) a candidate, with the reason. */
public record ChangeAdapterStatus(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                  String taskToken, String adapterId, String status,
                                  String reason) implements AsyncCommand {
}

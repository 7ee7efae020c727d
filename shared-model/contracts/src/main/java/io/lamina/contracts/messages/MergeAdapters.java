package io.lamina.contracts.messages;

import io.lamina.contracts.MergeRequest;

import java.time.Instant;

/** Run a merge (composition) and register the result; answered by {@link AdaptersMerged}. */
public record MergeAdapters(String eventId, int schemaVersion, Instant occurredAt, String streamId, String taskToken,
                            MergeRequest request) implements AsyncCommand {
}

package io.lamina.contracts.messages;

import java.time.Instant;

/** Ask the hypernetwork service for the registered adapter whose task description is nearest. */
public record FindNearestAdapter(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                                 String taskToken, String description) implements AsyncCommand {
}

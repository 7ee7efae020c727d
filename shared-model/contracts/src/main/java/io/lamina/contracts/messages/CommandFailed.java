package io.lamina.contracts.messages;

import java.time.Instant;

/**
 * A service could not execute a command. {@code retryable=false} means retrying cannot help
 * (bad input); the workflows bridge then fails the activity without retries.
 */
public record CommandFailed(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                            String taskToken, String commandType, String reason,
                            boolean retryable) implements AsyncReply {
}

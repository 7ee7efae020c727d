package io.lamina.contracts.messages;

import java.time.Instant;

/**
 * The hypernetwork service has enough new adapters (or a user asked) to train a new version of a
 * generator; the workflows service runs the training workflow. {@code streamId} is
 * {@link #GENERATORS}: generators belong to no stream.
 */
public record GeneratorTrainingDue(String eventId, int schemaVersion, Instant occurredAt, String streamId, String method,
                                   String reason) implements LaminaMessage {
    public static final String GENERATORS = "hypernetwork";
}

package io.lamina.contracts.messages;

import java.time.Instant;

/** Train a new version of a generator ({@code icm-lora} or {@code generative-adapter}) from the registry's adapters. */
public record TrainGenerator(String eventId, int schemaVersion, Instant occurredAt, String streamId, String taskToken,
                             String method, String reason) implements AsyncCommand {
}

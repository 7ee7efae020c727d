package io.lamina.contracts.messages;

import java.time.Instant;

/**
 * Ask the hypernetwork service for an adapter generated for a task from its dataset (training
 * split): {@code method} {@code generative-adapter} or {@code icm-lora}, or {@code null} for the
 * best generator there is. The generated adapter is registered before the reply.
 */
public record GenerateAdapter(String eventId, int schemaVersion, Instant occurredAt, String streamId, String taskToken,
                              String taskKey, String datasetId, String description, String method) implements AsyncCommand {
}

package io.lamina.contracts.messages;

import io.lamina.contracts.LabeledText;

import java.time.Instant;
import java.util.List;

/** An upstream system announces a task's dataset (topic {@code lamina.upstream.datasets}). */
public record DatasetAnnounced(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                               String taskKey, String name, String description, List<String> labels,
                               List<LabeledText> train, List<LabeledText> test) implements LaminaMessage {
}

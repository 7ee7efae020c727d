package io.lamina.ingestion.domain;

import io.lamina.contracts.LabeledText;
import io.lamina.contracts.messages.DatasetAnnounced;

import java.util.List;

/** A task dataset as submitted (REST body, or the payload of an upstream announcement). */
public record DatasetSubmission(String streamId, String taskKey, String name, String description,
                                List<String> labels, List<LabeledText> train, List<LabeledText> test) {
    public static DatasetSubmission of(DatasetAnnounced event) {
        return new DatasetSubmission(event.streamId(), event.taskKey(), event.name(), event.description(),
                event.labels(), event.train(), event.test());
    }
}

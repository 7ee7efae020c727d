package io.lamina.workflows.stream;

import java.util.List;

/** A task whose dataset was ingested, waiting for its turn in the stream. */
public record TaskArrival(String taskKey, String datasetId, String description, List<String> labels) {
}

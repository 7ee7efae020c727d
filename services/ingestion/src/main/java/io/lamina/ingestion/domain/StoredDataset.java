package io.lamina.ingestion.domain;

import io.lamina.contracts.LabeledText;

import java.time.Instant;
import java.util.List;

/** A dataset as stored. {@code train}/{@code test} are empty when records were not requested. */
public record StoredDataset(String datasetId, String streamId, String taskKey, String name, String description,
                            List<String> labels, String sha256, int trainSize, int testSize, Instant createdAt,
                            List<LabeledText> train, List<LabeledText> test) {
}

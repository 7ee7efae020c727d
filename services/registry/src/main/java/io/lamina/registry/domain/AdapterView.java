package io.lamina.registry.domain;

import io.lamina.contracts.LineageEdge;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** An adapter's registry entry as the API shows it. */
public record AdapterView(String adapterId, String streamId, String taskKey, String type, int version, String status,
                          String statusReason, String description, String blobKey, String sha256, long sizeBytes,
                          String baseModelId, String baseFingerprint, Map<String, Object> config,
                          Map<String, Double> metrics, Map<String, Object> provenance, List<LineageEdge> lineage,
                          List<String> aliases, Instant createdAt, Instant updatedAt) {
}

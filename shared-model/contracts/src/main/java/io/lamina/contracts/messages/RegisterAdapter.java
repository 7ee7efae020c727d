package io.lamina.contracts.messages;

import io.lamina.contracts.LineageEdge;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Register an adapter whose weights are already in the blob store. The id is chosen by the caller. */
public record RegisterAdapter(String eventId, int schemaVersion, Instant occurredAt, String streamId,
                              String taskKey, String taskToken, String adapterId, String blobKey, String sha256,
                              String description, List<LineageEdge> lineage,
                              Map<String, Double> metrics) implements AsyncCommand {
}

package io.lamina.registry.domain;

import io.lamina.contracts.LineageEdge;
import io.lamina.contracts.messages.RegisterAdapter;

import java.util.List;
import java.util.Map;

/** A request to register an adapter whose PEFT zip is already in the blob store. */
public record Registration(String adapterId, String streamId, String taskKey, String blobKey, String sha256,
                           String description, List<LineageEdge> lineage, Map<String, Double> metrics) {
    public static Registration of(RegisterAdapter c) {
        return new Registration(c.adapterId(), c.streamId(), c.taskKey(), c.blobKey(), c.sha256(), c.description(),
                c.lineage(), c.metrics());
    }
}

package io.lamina.registry.domain;

import java.util.List;

/**
 * The lineage of one adapter as a graph: its ancestors (what it was trained on, merged from, warm-started
 * from, continued from, ...) and its descendants, up to a depth. Edges point from child to parent.
 *
 * @param root      the adapter asked about
 * @param nodes     every adapter and other artifact (dataset, upload) on the graph
 * @param edges     child was {@code relation} parent
 * @param truncated true when the depth or node limit left some of the graph out
 */
public record LineageGraph(String root, List<Node> nodes, List<Edge> edges, boolean truncated) {

    /**
     * @param kind {@code adapter}, {@code dataset} (id {@code dataset:<datasetId>}), {@code upload} or {@code other};
     *             an adapter id that the registry does not hold has only its id
     */
    public record Node(String id, String kind, String streamId, String taskKey, Integer version, String type, String status) {
    }

    public record Edge(String child, String parent, String relation) {
    }
}

package io.lamina.registry.domain;

import org.springframework.stereotype.Service;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/** Walks the lineage edges from one adapter, up to its ancestors and down to its descendants, breadth first. */
@Service
public class LineageGraphs {
    public static final int MAX_DEPTH = 10;
    public static final int MAX_NODES = 200;

    private final AdapterRepository repository;

    LineageGraphs(AdapterRepository repository) {
        this.repository = repository;
    }

    public LineageGraph of(UUID root, int depth) {
        if (depth < 1 || depth > MAX_DEPTH) throw new IllegalArgumentException("depth must be in [1, " + MAX_DEPTH + "]");
        if (repository.find(root).isEmpty()) throw new java.util.NoSuchElementException("no adapter " + root);
        Set<String> ids = new LinkedHashSet<>(List.of(root.toString()));
        Set<AdapterRepository.LineageLink> edges = new LinkedHashSet<>();
        boolean truncated = false;

        // ancestors: the parents of the frontier's adapters, level by level
        Set<UUID> frontier = Set.of(root);
        for (int level = 0; level < depth && !frontier.isEmpty(); level++) {
            Set<UUID> next = new LinkedHashSet<>();
            for (AdapterRepository.LineageLink link : repository.parentsOf(frontier)) {
                if (ids.size() >= MAX_NODES && !ids.contains(link.parent())) {
                    truncated = true;
                    continue;
                }
                edges.add(link);
                if (ids.add(link.parent())) uuid(link.parent()).ifPresent(next::add);
            }
            frontier = next;
            if (level == depth - 1 && !frontier.isEmpty() && !repository.parentsOf(frontier).isEmpty()) truncated = true;
        }
        // descendants: the adapters that name the frontier as a parent
        Set<String> down = Set.of(root.toString());
        for (int level = 0; level < depth && !down.isEmpty(); level++) {
            Set<String> next = new LinkedHashSet<>();
            for (AdapterRepository.LineageLink link : repository.childrenOf(down)) {
                if (ids.size() >= MAX_NODES && !ids.contains(link.child())) {
                    truncated = true;
                    continue;
                }
                edges.add(link);
                if (ids.add(link.child())) next.add(link.child());
            }
            down = next;
            if (level == depth - 1 && !down.isEmpty() && !repository.childrenOf(down).isEmpty()) truncated = true;
        }

        Map<String, AdapterView> adapters = new LinkedHashMap<>();
        repository.findAll(ids.stream().map(LineageGraphs::uuid).flatMap(Optional::stream).toList())
                .forEach(a -> adapters.put(a.adapterId(), a));
        List<LineageGraph.Node> nodes = new ArrayList<>();
        for (String id : ids) {
            AdapterView a = adapters.get(id);
            if (a != null) {
                nodes.add(new LineageGraph.Node(id, "adapter", a.streamId(), a.taskKey(), a.version(), a.type(), a.status()));
            } else {
                nodes.add(new LineageGraph.Node(id, kind(id), null, null, null, null, null));
            }
        }
        List<LineageGraph.Edge> out = edges.stream().map(e -> new LineageGraph.Edge(e.child(), e.parent(), e.relation())).toList();
        return new LineageGraph(root.toString(), nodes, out, truncated);
    }

    private static String kind(String id) {
        if (uuid(id).isPresent()) return "adapter";
        if (id.startsWith("dataset:")) return "dataset";
        if (id.startsWith("upload:")) return "upload";
        return "other";
    }

    private static Optional<UUID> uuid(String id) {
        if (id == null || id.length() != 36) return Optional.empty();
        try {
            return Optional.of(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}

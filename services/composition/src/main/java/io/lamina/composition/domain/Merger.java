package io.lamina.composition.domain;

import io.lamina.contracts.Json;
import io.lamina.contracts.LineageEdge;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.io.BlobRef;
import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.merge.TaskArithmeticMerge;
import io.lamina.support.AdapterLoader;
import io.lamina.support.ServiceClients;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Offline merges. Task arithmetic is computed exactly over the full LoRA deltas
 * (Σ w_i·s_i·B_i·A_i) and stored as one LoRA by concatenating the factors, so no
 * approximation is made. The merged adapter is registered with its recipe as lineage.
 */
@Service
public class Merger {
    public static final String TASK_ARITHMETIC = "task_arithmetic";

    private final AdapterLoader loader;
    private final ServiceClients clients;
    private final BlobStore blobs;
    private final JdbcTemplate jdbc;

    Merger(AdapterLoader loader, ServiceClients clients, BlobStore blobs, JdbcTemplate jdbc) {
        this.loader = loader;
        this.clients = clients;
        this.blobs = blobs;
        this.jdbc = jdbc;
    }

    public record MergeRequest(String streamId, List<String> adapterIds, List<Double> weights, String method, String description) {
    }

    public record MergeResult(String adapterId, String blobKey, String sha256, Map<String, Object> recipe) {
    }

    public MergeResult merge(MergeRequest r) {
        String method = r.method() == null ? TASK_ARITHMETIC : r.method();
        if (!method.equals(TASK_ARITHMETIC)) throw new IllegalArgumentException("merge method '" + method + "' is not supported (supported: " + TASK_ARITHMETIC + ")");
        if (r.adapterIds() == null || r.adapterIds().size() < 2) throw new IllegalArgumentException("a merge needs at least two adapterIds");
        List<Double> weights = r.weights() == null ? r.adapterIds().stream().map(id -> 1.0).toList() : r.weights();
        if (weights.size() != r.adapterIds().size()) {
            throw new IllegalArgumentException("weights has " + weights.size() + " entries for " + r.adapterIds().size() + " adapters");
        }
        List<ServiceClients.AdapterEntry> entries = r.adapterIds().stream().map(clients::adapter).toList();
        String streamId = r.streamId() != null ? r.streamId() : entries.get(0).streamId();
        List<Adapter> inputs = entries.stream().map(e -> loader.load(e.adapterId())).toList();

        Map<String, Object> recipe = new LinkedHashMap<>();
        recipe.put("method", method);
        recipe.put("inputs", entries.stream().map(e -> Map.of("adapterId", e.adapterId(), "sha256", e.sha256())).toList());
        recipe.put("weights", weights);
        Map<String, String> provenance = new LinkedHashMap<>();
        provenance.put("merge-method", method);
        provenance.put("merged-from", String.join(",", r.adapterIds()));
        provenance.put("input-sha256", String.join(",", entries.stream().map(ServiceClients.AdapterEntry::sha256).toList()));
        Adapter merged = TaskArithmeticMerge.merge(inputs, weights, provenance);
        BlobRef ref = blobs.put(PeftAdapterFormat.toZip(merged));

        // Same recipe → same id, so re-running a merge is idempotent and gives identical bytes.
        String id = UUID.nameUUIDFromBytes((streamId + "\n" + ref.sha256()).getBytes(StandardCharsets.UTF_8)).toString();
        List<LineageEdge> lineage = new ArrayList<>();
        for (String parent : r.adapterIds()) lineage.add(new LineageEdge(parent, LineageEdge.MERGED_FROM));
        Map<String, Object> registration = new LinkedHashMap<>();
        registration.put("adapterId", id);
        registration.put("streamId", streamId);
        registration.put("blobKey", ref.key());
        registration.put("sha256", ref.sha256());
        registration.put("description", r.description() == null ? "task arithmetic of " + r.adapterIds() : r.description());
        registration.put("lineage", lineage);
        clients.registry().post().uri("/api/adapters").body(registration).retrieve().toBodilessEntity();
        jdbc.update("insert into merge_recipe(merged_adapter_id, stream_id, method, recipe) values (?, ?, ?, ?::jsonb) on conflict do nothing",
                UUID.fromString(id), streamId, method, json(recipe));
        return new MergeResult(id, ref.key(), ref.sha256(), recipe);
    }

    private static String json(Object value) {
        try {
            return Json.mapper().writeValueAsString(value);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}

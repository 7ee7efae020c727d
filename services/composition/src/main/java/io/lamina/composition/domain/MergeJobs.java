package io.lamina.composition.domain;

import com.fasterxml.jackson.core.type.TypeReference;
import io.lamina.contracts.Json;
import io.lamina.contracts.LabeledText;
import io.lamina.contracts.LineageEdge;
import io.lamina.contracts.MergeRequest;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.io.BlobRef;
import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.merge.AdapterMerger;
import io.lamina.engine.merge.MergeRecipe;
import io.lamina.engine.merge.learned.LearnedMerge;
import io.lamina.engine.merge.learned.LearnedMergeSpec;
import io.lamina.engine.model.BaseModel;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.support.AdapterLoader;
import io.lamina.support.Outbox;
import io.lamina.support.ServiceClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Offline merges as jobs. Closed-form merges (PEFT's combination types, task arithmetic,
 * mergekit's convention) are computed within the request, so a bad input is a 400 naming the
 * problem; learned merges (aTLAS, ScaLearn, MHR-μ) fit coefficients on examples from the dataset
 * store and run in the background, after the same input checks. Every merged adapter is
 * registered with its recipe (inputs by id and sha256, method, convention, parameters, seed) as
 * provenance and {@code merged-from} lineage; the same recipe gives identical bytes and the
 * same adapter id.
 */
@Service
public class MergeJobs {
    private static final Logger log = LoggerFactory.getLogger(MergeJobs.class);
    public static final Set<String> LEARNED = Set.of("atlas", "scalearn", "scalearn_uniform", "scalearn_shared",
            "scalearn_uniform_shared", "mhr_mu");
    static final int DEFAULT_EXAMPLES_PER_CLASS = 8;
    static final int DEFAULT_LEARNED_STEPS = 30;

    private final AdapterLoader loader;
    private final ServiceClients clients;
    private final BlobStore blobs;
    private final JdbcTemplate jdbc;
    private final BaseModel base;
    /** Learned merges train on the CPU: one at a time. */
    private final ExecutorService background = Executors.newSingleThreadExecutor(r -> new Thread(r, "learned-merges"));

    private final TransactionTemplate tx;
    private final Outbox outbox;

    MergeJobs(AdapterLoader loader, ServiceClients clients, BlobStore blobs, JdbcTemplate jdbc, BaseModel base,
              TransactionTemplate tx, Outbox outbox) {
        this.tx = tx;
        this.outbox = outbox;
        this.loader = loader;
        this.clients = clients;
        this.blobs = blobs;
        this.jdbc = jdbc;
        this.base = base;
    }

    public record MergeJob(String mergeId, String status, String method, String streamId, String adapterId, String blobKey,
                           String sha256, String error, Map<String, Object> recipe, Instant createdAt, Instant updatedAt) {
    }

    private record Inputs(String streamId, List<ServiceClients.AdapterEntry> entries, List<Adapter> adapters,
                          List<Double> weights) {
    }

    /** The event announcing a successful merge, written to the outbox with the job's completion. */
    @FunctionalInterface
    public interface Announcement {
        LaminaMessage of(String mergeId, String adapterId, String blobKey, String sha256);
    }

    /** Starts a merge; closed-form merges are done when this returns. */
    public MergeJob submit(MergeRequest request) {
        return submit(request, null);
    }

    /**
     * Starts a merge; when it succeeds, {@code announcement} (if any) goes to the outbox in the
     * transaction that marks the job SUCCEEDED.
     */
    public MergeJob submit(MergeRequest request, Announcement announcement) {
        if (request == null || request.method() == null || request.method().isBlank()) {
            throw new IllegalArgumentException("method is required; methods: " + methods());
        }
        String method = request.method().toLowerCase();
        Inputs inputs = resolve(request);
        UUID mergeId = UUID.randomUUID();
        if (LEARNED.contains(method)) {
            LearnedMergeSpec spec = learnedSpec(method, request);
            // The closed-form sum checks the inputs' compatibility before the job is accepted.
            AdapterMerger.merge(inputs.adapters(), new MergeRecipe("task_arithmetic", "peft", inputs.weights(), Map.of(), 0L), Map.of());
            insert(mergeId, inputs.streamId(), method, request);
            background.submit(() -> runLearned(mergeId, request, inputs, spec, announcement));
        } else {
            MergeRecipe recipe = new MergeRecipe(method, request.convention() == null ? "peft" : request.convention().toLowerCase(),
                    inputs.weights(), request.params() == null ? Map.of() : request.params(),
                    request.seed() == null ? 0L : request.seed());
            Adapter merged = AdapterMerger.merge(inputs.adapters(), recipe, provenance(inputs, method));
            insert(mergeId, inputs.streamId(), method, request);
            finish(mergeId, inputs, request, merged, recipeOf(inputs, method, recipe.convention(), recipe.params(), recipe.seed()),
                    announcement);
        }
        return find(mergeId.toString()).orElseThrow();
    }

    public static List<String> methods() {
        List<String> all = new ArrayList<>(AdapterMerger.methods());
        all.addAll(LEARNED.stream().sorted().toList());
        return all;
    }

    private void runLearned(UUID mergeId, MergeRequest request, Inputs inputs, LearnedMergeSpec spec, Announcement announcement) {
        try {
            String datasetId = String.valueOf(request.params().get("datasetId"));
            ServiceClients.Dataset dataset = clients.dataset(datasetId);
            int perClass = intParam(request.params(), "examplesPerClass", DEFAULT_EXAMPLES_PER_CLASS);
            List<LabeledText> examples = fewShot(dataset.train(), perClass);
            LearnedMerge.Result result = new LearnedMerge(base).fit(inputs.adapters(), examples, dataset.labels(), spec);
            Map<String, Object> params = new LinkedHashMap<>(request.params());
            params.put("coefficients", result.coefficients());
            params.put("dataset-sha256", dataset.sha256());
            finish(mergeId, inputs, request, result.merged(), recipeOf(inputs, spec.method(), null, params, spec.seed()),
                    announcement);
        } catch (RuntimeException e) {
            log.warn("learned merge {} failed", mergeId, e);
            jdbc.update("update merge_job set status = 'FAILED', error = ?, updated_at = now() where id = ?", e.getMessage(), mergeId);
        }
    }

    /** The first {@code perClass} examples of each label, in dataset order (deterministic). */
    static List<LabeledText> fewShot(List<LabeledText> train, int perClass) {
        Map<String, Integer> taken = new HashMap<>();
        List<LabeledText> out = new ArrayList<>();
        for (LabeledText r : train) {
            if (taken.merge(r.label(), 1, Integer::sum) <= perClass) out.add(r);
        }
        return out;
    }

    private void finish(UUID mergeId, Inputs inputs, MergeRequest request, Adapter merged, Map<String, Object> recipe,
                        Announcement announcement) {
        BlobRef ref = blobs.put(PeftAdapterFormat.toZip(merged));
        // Same recipe on the same inputs → same bytes → same id: re-running a merge is idempotent.
        String adapterId = UUID.nameUUIDFromBytes((inputs.streamId() + "\n" + ref.sha256()).getBytes(StandardCharsets.UTF_8)).toString();
        List<LineageEdge> lineage = inputs.entries().stream().map(e -> new LineageEdge(e.adapterId(), LineageEdge.MERGED_FROM)).toList();
        Map<String, Object> registration = new LinkedHashMap<>();
        registration.put("adapterId", adapterId);
        registration.put("streamId", inputs.streamId());
        registration.put("blobKey", ref.key());
        registration.put("sha256", ref.sha256());
        registration.put("description", request.description() != null ? request.description()
                : recipe.get("method") + " merge of " + inputs.entries().stream().map(ServiceClients.AdapterEntry::adapterId).toList());
        registration.put("lineage", lineage);
        clients.registry().post().uri("/api/adapters").body(registration).retrieve().toBodilessEntity();
        tx.executeWithoutResult(s -> {
            jdbc.update("""
                    update merge_job set status = 'SUCCEEDED', adapter_id = ?, blob_key = ?, sha256 = ?, recipe = ?::jsonb,
                                         updated_at = now() where id = ?""", adapterId, ref.key(), ref.sha256(), Json.write(recipe), mergeId);
            if (announcement != null) {
                outbox.enqueue(Topics.COMPOSITION_EVENTS, announcement.of(mergeId.toString(), adapterId, ref.key(), ref.sha256()));
            }
        });
    }

    private Inputs resolve(MergeRequest request) {
        if (request.adapters() == null || request.adapters().isEmpty()) throw new IllegalArgumentException("adapters must list at least one {id, weight}");
        List<ServiceClients.AdapterEntry> entries = new ArrayList<>();
        List<Double> weights = new ArrayList<>();
        for (int i = 0; i < request.adapters().size(); i++) {
            MergeRequest.WeightedAdapter a = request.adapters().get(i);
            if (a == null || a.id() == null) throw new IllegalArgumentException("adapters[" + i + "].id is required");
            try {
                entries.add(clients.adapter(a.id()));
            } catch (NoSuchElementException | IllegalArgumentException e) {
                throw new IllegalArgumentException("adapters[" + i + "]: " + e.getMessage());
            }
            double w = a.weight() == null ? 1.0 : a.weight();
            if (!Double.isFinite(w)) throw new IllegalArgumentException("adapters[" + i + "].weight must be a finite number, got " + w);
            weights.add(w);
        }
        String streamId = request.streamId() != null ? request.streamId() : entries.get(0).streamId();
        List<Adapter> adapters = entries.stream().map(e -> loader.load(e.adapterId())).toList();
        return new Inputs(streamId, entries, adapters, weights);
    }

    private static LearnedMergeSpec learnedSpec(String method, MergeRequest request) {
        Map<String, Object> p = request.params() == null ? Map.of() : request.params();
        if (p.get("datasetId") == null) throw new IllegalArgumentException("a learned merge needs params.datasetId (the examples to fit on)");
        return new LearnedMergeSpec(method, intParam(p, "steps", DEFAULT_LEARNED_STEPS),
                (float) doubleParam(p, "learningRate", 0.01), request.seed() == null ? 0L : request.seed(), null,
                intParam(p, "maxLength", 64));
    }

    private static Map<String, String> provenance(Inputs inputs, String method) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("merged-from", String.join(",", inputs.entries().stream().map(ServiceClients.AdapterEntry::adapterId).toList()));
        p.put("input-sha256", String.join(",", inputs.entries().stream().map(ServiceClients.AdapterEntry::sha256).toList()));
        return p;
    }

    private static Map<String, Object> recipeOf(Inputs inputs, String method, String convention, Map<String, Object> params, long seed) {
        Map<String, Object> recipe = new LinkedHashMap<>();
        recipe.put("method", method);
        if (convention != null) recipe.put("convention", convention);
        List<Map<String, Object>> in = new ArrayList<>();
        for (int i = 0; i < inputs.entries().size(); i++) {
            in.add(Map.of("adapterId", inputs.entries().get(i).adapterId(), "sha256", inputs.entries().get(i).sha256(),
                    "weight", inputs.weights().get(i)));
        }
        recipe.put("inputs", in);
        recipe.put("params", params);
        recipe.put("seed", seed);
        return recipe;
    }

    private void insert(UUID id, String streamId, String method, MergeRequest request) {
        jdbc.update("insert into merge_job(id, status, stream_id, method, request) values (?, 'RUNNING', ?, ?, ?::jsonb)",
                id, streamId, method, Json.write(request));
    }

    public Optional<MergeJob> find(String mergeId) {
        UUID id;
        try {
            id = UUID.fromString(mergeId);
        } catch (IllegalArgumentException e) {
            throw new NoSuchElementException("no merge " + mergeId);
        }
        return jdbc.query("select * from merge_job where id = ?", (rs, n) -> new MergeJob(rs.getString("id"), rs.getString("status"),
                rs.getString("method"), rs.getString("stream_id"), rs.getString("adapter_id"), rs.getString("blob_key"),
                rs.getString("sha256"), rs.getString("error"),
                rs.getString("recipe") == null ? null : Json.read(rs.getString("recipe"), new TypeReference<Map<String, Object>>() { }),
                rs.getObject("created_at", Timestamp.class).toInstant(), rs.getObject("updated_at", Timestamp.class).toInstant()), id)
                .stream().findFirst();
    }

    private static int intParam(Map<String, Object> p, String name, int fallback) {
        Object v = p.get(name);
        if (v == null) return fallback;
        if (v instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue())) return n.intValue();
        throw new IllegalArgumentException("params." + name + " must be an integer, got " + v);
    }

    private static double doubleParam(Map<String, Object> p, String name, double fallback) {
        Object v = p.get(name);
        if (v == null) return fallback;
        if (v instanceof Number n && Double.isFinite(n.doubleValue())) return n.doubleValue();
        throw new IllegalArgumentException("params." + name + " must be a finite number, got " + v);
    }


}

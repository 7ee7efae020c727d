package io.lamina.hypernetwork.domain;

import io.lamina.contracts.Json;
import io.lamina.contracts.LabeledText;
import io.lamina.contracts.LineageEdge;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.GeneratorTrainingDue;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.hypernetwork.AdapterGeneration;
import io.lamina.engine.hypernetwork.AdapterGeneration.Method;
import io.lamina.engine.hypernetwork.GenerativeAdapter;
import io.lamina.engine.hypernetwork.IcmLora;
import io.lamina.engine.io.BlobRef;
import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.training.Trajectory;
import io.lamina.support.AdapterLoader;
import io.lamina.support.MessagePublisher;
import io.lamina.support.ServiceClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Service;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The hypernetwork service's generators: trains new versions from the registry's adapters
 * (ICM-LoRA from their trajectories, GenerativeAdapter from their tasks' datasets), decides when
 * enough new adapters warrant a new version, and generates and registers adapters for tasks.
 */
@Service
public class Generators {
    private static final Logger log = LoggerFactory.getLogger(Generators.class);
    /** Method name of the fallback answer: the nearest registered adapter, not a generated one. */
    public static final String NEAREST = "nearest";

    private final BaseModel base;
    private final BlobStore blobs;
    private final AdapterLoader adapters;
    private final ServiceClients clients;
    private final GeneratorStore store;
    private final AdapterIndex index;
    private final MessagePublisher publisher;
    private final HypernetworkProperties properties;
    private final Map<String, Object> loaded = new ConcurrentHashMap<>();

    Generators(BaseModel base, BlobStore blobs, AdapterLoader adapters, ServiceClients clients, GeneratorStore store, AdapterIndex index,
               MessagePublisher publisher, HypernetworkProperties properties) {
        this.base = base;
        this.blobs = blobs;
        this.adapters = adapters;
        this.clients = clients;
        this.store = store;
        this.index = index;
        this.publisher = publisher;
        this.properties = properties;
    }

    // ------------------------------------------------------------------ when to train

    /** Publishes {@link GeneratorTrainingDue} for each method with enough adapters registered since its last version. */
    public void requestTrainingIfDue() {
        for (Method m : Method.values()) {
            Optional<GeneratorStore.GeneratorVersion> last = store.latest(m.wire());
            int fresh = store.newTrainingAdapters(last.map(GeneratorStore.GeneratorVersion::createdAt).orElse(null));
            if (fresh >= properties.trainAfter()) {
                requestTraining(m, fresh + " adapters registered since " + last.map(v -> "version " + v.version()).orElse("the start"));
            }
        }
    }

    public void requestTraining(Method method, String reason) {
        publisher.publish(Topics.HYPERNETWORK_EVENTS, new GeneratorTrainingDue(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION,
                Messages.now(), GeneratorTrainingDue.GENERATORS, method.wire(), reason));
    }

    // ------------------------------------------------------------------ training

    /** A registered adapter a generator can learn from: trained (not generated, merged or reused), with its task. */
    private record TrainingAdapter(String adapterId, String description, Adapter adapter, List<Trajectory.Snapshot> trajectory) {
    }

    private List<TrainingAdapter> trainingAdapters() {
        List<TrainingAdapter> out = new ArrayList<>();
        for (String[] row : store.trainingCandidates()) {
            Adapter a;
            try {
                a = adapters.fromBlob(row[1]);
            } catch (RuntimeException e) {
                log.warn("adapter {} cannot be read for generator training: {}", row[0], e.getMessage());
                continue;
            }
            if (!learnsFrom(a)) continue;
            Map<String, String> details = a.provenance().details();
            List<Trajectory.Snapshot> trajectory = List.of();
            String trajectoryBlob = details.get(Trajectory.PROVENANCE_KEY);
            if (trajectoryBlob != null && blobs.exists(trajectoryBlob)) trajectory = Trajectory.fromSafetensors(blobs.get(trajectoryBlob));
            out.add(new TrainingAdapter(row[0], row[2], a, trajectory));
        }
        return out;
    }

    /**
     * Whether generators learn from this adapter: a trained plain LoRA (not generated, merged, imported,
     * or reusing another adapter's weights; DoRA's magnitudes and (IA)^3 vectors are another parameter space).
     */
    public static boolean learnsFrom(Adapter a) {
        if (a.provenance() == null || !AdapterProvenance.TRAINED.equals(a.provenance().method())) return false;
        return a.isStackableLora() && !a.provenance().details().containsKey(Adapter.SHARES_WEIGHTS_OF);
    }

    /** Whether the adapter in this blob is one generators {@link #learnsFrom(Adapter) learn from}; an unreadable blob is not. */
    public boolean learnsFrom(String blobKey) {
        try {
            return learnsFrom(adapters.fromBlob(blobKey));
        } catch (RuntimeException e) {
            log.warn("adapter blob {} cannot be read: {}", blobKey, e.getMessage());
            return false;
        }
    }

    /** Trains, stores and returns a new version of {@code method}'s generator. */
    public GeneratorStore.GeneratorVersion train(Method method, String reason) {
        long t0 = System.nanoTime();
        List<TrainingAdapter> candidates = trainingAdapters();
        float[] lastLoss = {Float.NaN};
        byte[] bytes;
        List<String> trainedOn = new ArrayList<>();
        int samples;
        long parameters;
        String loraSpec = null;
        if (method == Method.ICM_LORA) {
            // one generator per LoRA layout: learn from the most common one
            Map<String, List<TrainingAdapter>> bySpec = new LinkedHashMap<>();
            for (TrainingAdapter t : candidates) bySpec.computeIfAbsent(Json.write(t.adapter().spec()), k -> new ArrayList<>()).add(t);
            List<TrainingAdapter> group = bySpec.values().stream().max(java.util.Comparator.comparingInt(List::size)).orElse(List.of());
            if (group.size() < 2) {
                throw new IllegalArgumentException("ICM-LoRA needs at least 2 trained LoRA adapters with the same spec; the registry has " + group.size());
            }
            List<IcmLora.Checkpoint> checkpoints = new ArrayList<>();
            for (TrainingAdapter t : group) {
                List<IcmLora.Checkpoint> c = AdapterGeneration.icmCheckpoints(base, t.adapter(), t.description(), t.trajectory());
                if (!c.isEmpty()) trainedOn.add(t.adapterId());
                checkpoints.addAll(c);
            }
            IcmLora icm = IcmLora.train(IcmLora.Spec.defaults().withKldWeight(properties.kldWeight().floatValue()), checkpoints, IcmLora.Training.defaults().withSteps(properties.icmSteps()),
                    p -> lastLoss[0] = p.loss());
            bytes = icm.toSafetensors();
            samples = checkpoints.size();
            parameters = icm.parameterCount();
            loraSpec = Json.write(group.get(0).adapter().spec());
        } else {
            List<GenerativeAdapter.EpisodeTask> tasks = new ArrayList<>();
            LinkedHashSet<String> datasets = new LinkedHashSet<>();
            for (TrainingAdapter t : candidates) {
                String datasetId = t.adapter().provenance().details().get("dataset-id");
                if (datasetId == null || !datasets.add(datasetId)) continue;
                try {
                    ServiceClients.Dataset d = clients.dataset(datasetId);
                    tasks.add(new GenerativeAdapter.EpisodeTask(d.streamId() + "/" + d.taskKey(), d.train()));
                } catch (NoSuchElementException e) {
                    log.warn("dataset {} of adapter {} is gone; left out of meta-training", datasetId, t.adapterId());
                }
            }
            if (tasks.size() < 2) throw new IllegalArgumentException("GenerativeAdapter needs the datasets of at least 2 tasks; found " + tasks.size());
            trainedOn.addAll(datasets);
            GenerativeAdapter ga = GenerativeAdapter.metaTrain(base, GenerativeAdapter.Spec.defaults(), tasks,
                    GenerativeAdapter.MetaTraining.defaults().withEpisodes(properties.episodes()), p -> lastLoss[0] = p.loss());
            bytes = ga.toSafetensors();
            samples = properties.episodes();
            parameters = ga.parameterCount();
        }
        BlobRef ref = blobs.put(bytes);
        int version = store.nextVersion(method.wire());
        String id = UUID.nameUUIDFromBytes((method.wire() + "\n" + version + "\n" + ref.sha256()).getBytes(StandardCharsets.UTF_8)).toString();
        GeneratorStore.GeneratorVersion g = new GeneratorStore.GeneratorVersion(id, method.wire(), version, ref.key(), ref.sha256(),
                trainedOn.size(), samples, parameters, (System.nanoTime() - t0) / 1e9, lastLoss[0], trainedOn, reason, Instant.now());
        store.insert(g, loraSpec);
        log.info("trained {} generator version {} on {} adapters/tasks ({} samples) in {} s", method.wire(), version, trainedOn.size(), samples,
                String.format("%.1f", g.seconds()));
        return store.get(id).orElseThrow();
    }

    // ------------------------------------------------------------------ generation

    /** What to generate for. {@code method} null: GenerativeAdapter when trained, else ICM-LoRA. */
    public record Request(String streamId, String taskKey, String description, List<LabeledText> examples, String method) {
    }

    /** Accuracy of the generated adapter on the task's test split, when the task has a stored dataset. */
    public record Evaluation(String datasetId, double accuracy, int testExamples) {
    }

    public record Result(String adapterId, String blobKey, String streamId, String taskKey, String method, String generatorId,
                         double generationMillis, double totalMillis, List<String> labels, Evaluation evaluation) {
    }

    /**
     * Generates an adapter for the request, registers it and returns it; empty when no generator
     * (of the requested method, or at all) has been trained yet.
     *
     * @param testOrNull the task's test examples, to report the generated adapter's accuracy
     */
    public Optional<Result> generate(Request r, String datasetIdOrNull, List<LabeledText> testOrNull) {
        if (r.examples() == null || r.examples().isEmpty()) {
            throw new IllegalArgumentException("examples are needed: the generated adapter's head is built from labelled examples");
        }
        Method method = r.method() == null || r.method().isBlank() ? null : Method.fromWire(r.method());
        Optional<GeneratorStore.GeneratorVersion> generator = method != null ? store.latest(method.wire())
                : store.latest(Method.GENERATIVE_ADAPTER.wire()).or(() -> store.latest(Method.ICM_LORA.wire()));
        if (generator.isEmpty()) return Optional.empty();
        GeneratorStore.GeneratorVersion g = generator.get();
        AdapterGeneration.Generated generated;
        if (Method.fromWire(g.method()) == Method.GENERATIVE_ADAPTER) {
            List<LabeledText> context = AdapterGeneration.perClass(r.examples(), properties.contextPerClass(), r.examples().size());
            generated = AdapterGeneration.fromExamples(base, generativeAdapter(g), g.generatorId(), context, r.examples(), properties.maxLength());
        } else {
            LoraSpec spec = Json.read(store.loraSpec(g.generatorId()), LoraSpec.class);
            generated = AdapterGeneration.fromDescription(base, icmLora(g), g.generatorId(), spec, r.description(), r.examples(), 0f, 0L,
                    properties.maxLength());
        }
        Adapter adapter = generated.adapter();
        Evaluation evaluation = null;
        if (testOrNull != null && !testOrNull.isEmpty()) {
            List<String> predicted = adapter.head().classify(base.embed(testOrNull.stream().map(LabeledText::text).toList(), adapter, properties.maxLength()));
            int right = 0;
            for (int i = 0; i < predicted.size(); i++) if (predicted.get(i).equals(testOrNull.get(i).label())) right++;
            evaluation = new Evaluation(datasetIdOrNull, right / (double) predicted.size(), predicted.size());
        }
        BlobRef ref = blobs.put(PeftAdapterFormat.toZip(adapter));
        String adapterId = UUID.nameUUIDFromBytes((r.streamId() + "\n" + r.taskKey() + "\n" + ref.sha256()).getBytes(StandardCharsets.UTF_8)).toString();
        double generationMillis = generated.weightsNanos() / 1e6;
        // recorded before registering: the registration's event must not count as new training data
        store.recordGenerated(new GeneratorStore.GeneratedAdapter(adapterId, g.generatorId(), g.method(), r.streamId(), r.taskKey(),
                generationMillis, evaluation == null ? null : evaluation.accuracy(), evaluation == null ? null : evaluation.testExamples(), Instant.now()));
        Map<String, Object> registration = new LinkedHashMap<>();
        registration.put("adapterId", adapterId);
        registration.put("streamId", r.streamId());
        registration.put("taskKey", r.taskKey());
        registration.put("blobKey", ref.key());
        registration.put("sha256", ref.sha256());
        registration.put("description", (r.description() == null || r.description().isBlank() ? r.taskKey() : r.description())
                + " (generated by " + g.method() + " v" + g.version() + ")");
        List<LineageEdge> lineage = new ArrayList<>();
        lineage.add(new LineageEdge("generator:" + g.generatorId(), LineageEdge.GENERATED_BY));
        if (datasetIdOrNull != null) lineage.add(new LineageEdge("dataset:" + datasetIdOrNull, "head-from"));
        registration.put("lineage", lineage);
        Map<String, Double> metrics = new LinkedHashMap<>();
        metrics.put("generation-millis", generationMillis);
        if (evaluation != null) metrics.put("accuracy", evaluation.accuracy());
        registration.put("metrics", metrics);
        clients.registry().post().uri("/api/adapters").body(registration).retrieve().toBodilessEntity();
        return Optional.of(new Result(adapterId, ref.key(), r.streamId(), r.taskKey(), g.method(), g.generatorId(), generationMillis,
                generated.totalNanos() / 1e6, adapter.head().labels(), evaluation));
    }

    /** The nearest registered adapter by description: what warm starts use until a generator exists. */
    public Optional<AdapterIndex.Nearest> nearest(String description) {
        return index.nearest(description == null || description.isBlank() ? "(no description)" : description);
    }

    private GenerativeAdapter generativeAdapter(GeneratorStore.GeneratorVersion g) {
        return (GenerativeAdapter) loaded.computeIfAbsent(g.generatorId(), id -> GenerativeAdapter.fromSafetensors(blobs.get(g.blobKey())));
    }

    private IcmLora icmLora(GeneratorStore.GeneratorVersion g) {
        return (IcmLora) loaded.computeIfAbsent(g.generatorId(), id -> IcmLora.fromSafetensors(blobs.get(g.blobKey())));
    }
}

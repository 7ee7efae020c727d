package io.lamina.trainingworker.domain;

import io.lamina.contracts.AdapterSettings;
import io.lamina.contracts.BottleneckSettings;
import io.lamina.contracts.ContinualTraining;
import io.lamina.contracts.RankGateSettings;
import io.lamina.contracts.RankSweepSettings;
import io.lamina.engine.training.RankSweep;
import io.lamina.engine.adapter.mora.RankGate;
import io.lamina.contracts.Json;
import io.lamina.contracts.LabeledText;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.TrainingSettings;
import io.lamina.contracts.messages.CommandFailed;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.contracts.messages.TrainAdapter;
import io.lamina.contracts.messages.TrainingCompleted;
import io.lamina.contracts.messages.TrainingProgress;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.continual.SelfExpansion;
import io.lamina.engine.continual.TaskDescriptor;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.ParameterAnchor;
import io.lamina.engine.adapter.bottleneck.BottleneckSharing;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.AdapterType;
import io.lamina.engine.adapter.bottleneck.MosaSettings;
import io.lamina.engine.adapter.sft.Sft;
import io.lamina.engine.adapter.sft.SftSpec;
import io.lamina.engine.adapter.ia3.Ia3Spec;
import io.lamina.engine.adapter.lokr.LokrSpec;
import io.lamina.engine.adapter.prompt.PromptTuningSpec;
import io.lamina.engine.adapter.lora.PrincipalInit;
import io.lamina.engine.training.PrincipalInitialisation;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.lora.LoraVariant;
import io.lamina.engine.io.BlobRef;
import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.PeftAdapterFormat;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.training.DirectoryCheckpointStore;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.Trajectory;
import io.lamina.engine.training.TrainingSpec;
import io.lamina.support.AdapterLoader;
import io.lamina.support.MessagePublisher;
import io.lamina.support.Outbox;
import io.lamina.support.ProcessedEvents;
import io.lamina.support.ServiceClients;
import io.lamina.trainingworker.TrainingWorkerProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Runs {@link TrainAdapter} commands: fetches the dataset from ingestion, trains a LoRA and its
 * head with the engine (checkpointing, so a retried job resumes), stores the PEFT zip in the
 * blob store and announces it. Every outcome is an event carrying the command's task token.
 * {@code TrainingCompleted} is written to the outbox in the transaction that stores the completed
 * job row; progress events (heartbeats, losing one is harmless) and failures are published directly.
 */
@Service
public class TrainingJobs {
    private static final Logger log = LoggerFactory.getLogger(TrainingJobs.class);
    /** MOS's adapter_momentum. */
    static final float DEFAULT_ANCHOR_MOMENTUM = 0.1f;

    private final BaseModel base;
    private final LoraTrainer trainer;
    private final ServiceClients clients;
    private final AdapterLoader adapters;
    private final BlobStore blobs;
    private final MessagePublisher publisher;
    private final JdbcTemplate jdbc;
    private final TrainingWorkerProperties properties;
    private final TransactionTemplate tx;
    private final Outbox outbox;
    private final ProcessedEvents processed;
    /** Set when the worker shuts down: a running job stops at its next step and answers nothing. */
    private volatile boolean stopping;

    TrainingJobs(BaseModel base, ServiceClients clients, AdapterLoader adapters, BlobStore blobs,
                 MessagePublisher publisher, JdbcTemplate jdbc, TrainingWorkerProperties properties,
                 TransactionTemplate tx, Outbox outbox, ProcessedEvents processed) {
        this.tx = tx;
        this.outbox = outbox;
        this.processed = processed;
        this.base = base;
        this.trainer = new LoraTrainer(base);
        this.clients = clients;
        this.adapters = adapters;
        this.blobs = blobs;
        this.publisher = publisher;
        this.jdbc = jdbc;
        this.properties = properties;
    }

    public void run(TrainAdapter command) {
        Optional<TrainingCompleted> done = completed(command.jobId());
        if (done.isPresent()) {
            // A re-delivered command of a finished job: answer again with this token.
            TrainingCompleted d = done.get();
            tx.executeWithoutResult(st -> outbox.enqueue(Topics.TRAINING_EVENTS, new TrainingCompleted(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), d.streamId(),
                    d.taskKey(), d.jobId(), command.taskToken(), d.blobKey(), d.sha256(), d.sizeBytes(), d.adapterType(),
                    d.rank(), d.steps(), d.finalLoss(), d.trainSeconds(), d.device(), d.baseFingerprint(), d.sharesWeightsOf())));
            return;
        }
        try {
            progress(command, 0, 0, 0, Double.NaN, 0);
            train(command); // TrainingCompleted goes through the outbox, with the job row
        } catch (WorkerStopping e) {
            // Like a crash: no answer. The activity's heartbeat timeout fires and Temporal retries
            // the job on another (or the restarted) worker, which resumes from the last checkpoint.
            log.warn("training job {} abandoned at step {}: the worker is stopping", command.jobId(), e.step);
        } catch (IllegalArgumentException e) {
            log.warn("training job {} refused: {}", command.jobId(), e.getMessage());
            publish(failure(command, e.getMessage(), false));
        } catch (RuntimeException e) {
            log.error("training job {} failed", command.jobId(), e);
            publish(failure(command, e.toString(), true));
        }
    }

    private void train(TrainAdapter command) {
        long started = System.nanoTime();
        ContinualTraining continual = command.continual() == null ? ContinualTraining.NONE : command.continual();
        ServiceClients.Dataset dataset = clients.dataset(command.datasetId());
        BottleneckSpec bottleneck = bottleneckSpec(command.adapter());
        Ia3Spec ia3 = bottleneck != null ? null : ia3Spec(command.adapter());
        LokrSpec lokr = lokrSpec(command.adapter());
        PromptTuningSpec prompt = promptSpec(command.adapter());
        SftSpec sft = sftSpec(command.adapter());
        LoraSpec lora = ia3 != null || lokr != null || bottleneck != null || prompt != null || sft != null ? null : loraSpec(command.adapter());
        String init = command.adapter() == null ? null : command.adapter().init();
        if (init != null && !init.isBlank() && !init.equalsIgnoreCase("default") && lora == null && prompt == null) {
            throw new IllegalArgumentException("init '" + init + "' applies to lora (pissa, corda-ipm, corda-kpm) and prompt (random, sample_vocab) "
                    + "adapters, not to type '" + command.adapter().type() + "'");
        }
        TrainingSpec spec = trainingSpec(command.training());
        Map<String, String> provenance = new LinkedHashMap<>();
        provenance.put("stream-id", command.streamId());
        provenance.put("task-key", command.taskKey());
        provenance.put("dataset-id", dataset.datasetId());
        provenance.put("dataset-sha256", dataset.sha256());
        provenance.put("job-id", command.jobId());

        // joint: every earlier dataset's examples too, classes in order of first appearance
        List<LabeledText> train = new ArrayList<>();
        Set<String> labels = new LinkedHashSet<>();
        for (String extra : continual.extraDatasetIds()) {
            ServiceClients.Dataset d = clients.dataset(extra);
            train.addAll(d.train());
            labels.addAll(d.labels());
        }
        train.addAll(dataset.train());
        labels.addAll(dataset.labels());
        if (!continual.extraDatasetIds().isEmpty()) provenance.put("joint-datasets", String.join(",", continual.extraDatasetIds()));

        Adapter warmStart = command.warmStartBlobKey() == null ? null : adapters.fromBlob(command.warmStartBlobKey());
        if (command.warmStartAdapterId() != null) provenance.put("warm-started-from", command.warmStartAdapterId());
        Adapter continued = null;
        if (continual.continueFromAdapterId() != null) {
            continued = adapters.load(continual.continueFromAdapterId());
            warmStart = continued;
            provenance.put("continued-from", continual.continueFromAdapterId());
        }

        // sema: a task the existing adapters' descriptors already cover reuses the best one's weights
        String sharesWeightsOf = null;
        Adapter adapter = null;
        if (!continual.reuseCandidateIds().isEmpty()) {
            List<Adapter> candidates = continual.reuseCandidateIds().stream().map(adapters::load).toList();
            float[][] embeddings = base.embed(train.stream().map(LabeledText::text).toList(), null, spec.maxLength());
            double threshold = continual.expansionThreshold() == null ? TaskDescriptor.DEFAULT_EXPANSION_THRESHOLD : continual.expansionThreshold();
            SelfExpansion.Decision decision = SelfExpansion.decide(candidates.stream().map(Adapter::descriptor).toList(), embeddings, threshold);
            provenance.put("expansion", decision.toString());
            log.info("job {}: {}", command.jobId(), decision);
            if (!decision.expand()) {
                Adapter reused = candidates.get(decision.reuse());
                sharesWeightsOf = continual.reuseCandidateIds().get(decision.reuse());
                provenance.put(Adapter.SHARES_WEIGHTS_OF, sharesWeightsOf);
                provenance.put("steps", "0");
                PrototypeHead head = trainer.prototypeHead(reused, train, List.copyOf(labels), spec.maxLength(), spec.seed());
                adapter = reused.withHead(head).withProvenance(new AdapterProvenance(AdapterProvenance.TRAINED, provenance));
            }
        }

        ParameterAnchor anchor = null;
        if (adapter == null && lora != null && !continual.anchorAdapterIds().isEmpty()) {
            List<Map<String, HostTensor>> earlier = new ArrayList<>();
            for (String id : continual.anchorAdapterIds()) {
                Adapter a = adapters.load(id);
                if (a.spec().equals(lora)) earlier.add(a.weights());
                else log.info("job {}: anchor {} has another LoRA spec ({}), left out of the mean", command.jobId(), id, a.spec());
            }
            if (!earlier.isEmpty()) {
                anchor = new ParameterAnchor(ParameterAnchor.mean(earlier),
                        continual.anchorMomentum() == null ? DEFAULT_ANCHOR_MOMENTUM : continual.anchorMomentum().floatValue());
            }
        }

        var checkpoints = new DirectoryCheckpointStore(properties.checkpointRoot().resolve(safeName(command.jobId())));
        RankGate gate = null;
        if (continual.rankGate() != null) {
            RankGateSettings g = continual.rankGate();
            gate = new RankGate((float) g.temperature(), g.topK(), (float) g.pruneThreshold());
        }
        if (adapter == null && lora != null && gate == null && command.adapter() != null && command.adapter().rankSweep() != null) {
            // AdapterTune: pick the rank first (its runs' progress events are heartbeats too), then train with it
            RankSweepSettings rs = command.adapter().rankSweep();
            RankSweep.Settings d = RankSweep.Settings.defaults();
            RankSweep.Result sweep = new RankSweep(base).run(new TrainingRequest(train, List.copyOf(labels), lora, spec, null,
                    p -> {
                        if (stopping) throw new WorkerStopping(p.step());
                        progress(command, 0, p.totalSteps(), p.epoch(), p.loss(), p.examplesPerSecond());
                    }, null, Map.of()),
                    new RankSweep.Settings(rs.ranks() == null || rs.ranks().isEmpty() ? d.ranks() : rs.ranks(),
                            rs.seeds() == null ? d.seeds() : rs.seeds(), rs.tolerance() == null ? d.tolerance() : rs.tolerance()));
            lora = new LoraSpec(sweep.chosenRank(), lora.scaling() * sweep.chosenRank(), lora.dropout(), lora.targetModules(), lora.rslora(), lora.variant());
            provenance.put("rank-sweep", sweep.summary());
            log.info("job {}: rank sweep {}", command.jobId(), sweep.summary());
        }
        // every step is a heartbeat; a stopping worker ends the job at the next one (retried from its checkpoint)
        io.lamina.engine.training.ProgressListener listener = p -> {
            if (stopping) throw new WorkerStopping(p.step());
            progress(command, p.step(), p.totalSteps(), p.epoch(), p.loss(), p.examplesPerSecond());
        };
        // the types other than LoRA and SFT: one trainer path, their spec says what trains
        io.lamina.engine.adapter.AdapterConfig other = ia3 != null ? ia3 : lokr != null ? lokr : prompt != null ? prompt : bottleneck;
        if (adapter == null && other != null) {
            if (gate != null) throw new IllegalArgumentException("the mora strategy trains gated LoRA experts, not " + command.adapter().type() + " adapters");
            TrainingRequest request = bottleneck != null
                    ? TrainingRequest.bottleneck(train, List.copyOf(labels), bottleneck, bottleneckSharing(command.adapter()), spec, warmStart,
                    listener, checkpoints, provenance)
                    : TrainingRequest.of(train, List.copyOf(labels), other, spec, warmStart, listener, checkpoints, provenance);
            adapter = trainer.train(request, bottleneck != null ? mosaSettings(command.adapter()) : null);
            if (continued != null) adapter = adapter.withHead(PrototypeHead.grow(continued.head(), adapter.head()));
        }
        if (adapter == null && sft != null) {
            if (gate != null) throw new IllegalArgumentException("the mora strategy trains gated LoRA experts, not sparse fine-tunings");
            // sequential: the stream's SFT so far stays applied underneath, and the new diff composes with it by addition
            List<Adapter> under = continued != null && continued.kind() == io.lamina.engine.adapter.AdapterKind.SFT ? List.of(continued) : List.of();
            adapter = new io.lamina.engine.training.SparseFineTuner(base).train(new io.lamina.engine.training.SparseFineTuner.Request(
                    train, List.copyOf(labels), sft, spec, under,
                    listener, provenance));
            if (!under.isEmpty()) {
                adapter = Sft.compose(List.of(continued, adapter), PrototypeHead.grow(continued.head(), adapter.head()))
                        .withProvenance(adapter.provenance());
            }
        }
        if (adapter == null) {
            // ICM-LoRA learns from trajectories: plain LoRA runs keep a few snapshots (MoRA's experts and DoRA's magnitudes are another layout)
            int snapshots = command.training() == null ? TrainingSettings.DEFAULT_TRAJECTORY_SNAPSHOTS : command.training().snapshots();
            PrincipalInitialisation principal = principalInit(command, train);
            // PiSSA/CorDA factors live on W's residual: their snapshots are not adapters of the base (the engine refuses them)
            Trajectory trajectory = snapshots > 0 && gate == null && !lora.dora() && principal == null ? Trajectory.keep(snapshots) : null;
            adapter = trainer.train(new TrainingRequest(train, List.copyOf(labels), lora, spec, warmStart, listener,
                    checkpoints, provenance, anchor, gate, trajectory).withPrincipalInit(principal));
            if (trajectory != null && !trajectory.snapshots().isEmpty()) {
                BlobRef snapshotsRef = blobs.put(Trajectory.toSafetensors(trajectory.snapshots()));
                Map<String, String> details = new LinkedHashMap<>(adapter.provenance().details());
                details.put(Trajectory.PROVENANCE_KEY, snapshotsRef.key());
                adapter = adapter.withProvenance(new AdapterProvenance(adapter.provenance().method(), details));
            }
            // sequential: one adapter for the whole stream, its head grows by this task's classes
            if (continued != null) adapter = adapter.withHead(PrototypeHead.grow(continued.head(), adapter.head()));
        }
        BlobRef ref = blobs.put(PeftAdapterFormat.toZip(adapter));
        checkpoints.clear();
        double seconds = (System.nanoTime() - started) / 1e9;
        String steps = adapter.provenance().details().getOrDefault("steps", "0");
        String loss = adapter.provenance().details().getOrDefault("final-loss", "NaN");
        TrainingCompleted result = new TrainingCompleted(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(),
                command.streamId(), command.taskKey(), command.jobId(), command.taskToken(), ref.key(), ref.sha256(), ref.size(),
                adapter.kind().name(), adapter.spec() == null ? 0 : adapter.spec().rank(), Integer.parseInt(steps), Double.parseDouble(loss), seconds,
                base.device(), adapter.baseFingerprint(), sharesWeightsOf);
        tx.executeWithoutResult(st -> {
            remember(result);
            if (command.eventId() != null) processed.markProcessed(command.eventId());
            outbox.enqueue(Topics.TRAINING_EVENTS, result);
        });
        log.info("trained {} for stream {} task {} in {}s ({} steps, loss {})", ref.key(), command.streamId(),
                command.taskKey(), String.format("%.1f", seconds), steps, loss);
    }

    /** Adapter types a policy can name: the engine's registry of types ({@link AdapterType}). */
    static final List<String> ADAPTER_TYPES = AdapterType.ids();

    /**
     * The prompt-tuning spec of a {@code prompt} adapter type, else {@code null}: {@code rank} is the number of virtual
     * tokens ({@code 0}: {@value PromptTuningSpec#DEFAULT_VIRTUAL_TOKENS}), {@code init} {@code random} (default) or
     * {@code sample_vocab} (PEFT's {@code prompt_tuning_init}; TEXT needs an init text, which policies do not carry);
     * alpha, dropout and target modules do not apply and are ignored (a stream's default policy carries LoRA's; a prompt
     * wraps no module), and rank sweeps are refused.
     */
    static PromptTuningSpec promptSpec(AdapterSettings settings) {
        if (settings == null || settings.type() == null || !settings.type().equalsIgnoreCase("prompt")) return null;
        if (settings.rankSweep() != null) throw new IllegalArgumentException("adapter type 'prompt' has no rank to sweep (rank is its number of virtual tokens)");
        String init = settings.init() == null || settings.init().isBlank() || settings.init().equalsIgnoreCase("default")
                ? "random" : settings.init().toLowerCase(java.util.Locale.ROOT);
        PromptTuningSpec.Init i = switch (init) {
            case "random" -> PromptTuningSpec.Init.RANDOM;
            case "sample_vocab", "sample-vocab" -> PromptTuningSpec.Init.SAMPLE_VOCAB;
            default -> throw new IllegalArgumentException("adapter type 'prompt': init '" + settings.init() + "' is not one of [random, sample_vocab]");
        };
        return new PromptTuningSpec(settings.rank() > 0 ? settings.rank() : PromptTuningSpec.DEFAULT_VIRTUAL_TOKENS, i, null);
    }

    /**
     * The spec of an {@code sft} adapter type: LT-SFT's defaults ({@link SftSpec#defaults()}: all six linears maskable,
     * 1% of their entries, both phases as long as the training settings' epochs), on the given modules if any; else {@code null}.
     */
    static SftSpec sftSpec(AdapterSettings settings) {
        if (settings == null || settings.type() == null || !settings.type().equalsIgnoreCase("sft")) return null;
        SftSpec d = SftSpec.defaults();
        return settings.targetModules() == null || settings.targetModules().isEmpty() ? d : d.withModules(settings.targetModules());
    }

    /** The LoKr spec of a {@code lokr} adapter type (PEFT's defaults, on LoRA's default targets unless modules are given), else {@code null}. */
    static LokrSpec lokrSpec(AdapterSettings settings) {
        if (settings == null || settings.type() == null || !settings.type().equalsIgnoreCase("lokr")) return null;
        List<String> targets = settings.targetModules() == null || settings.targetModules().isEmpty()
                ? LoraSpec.defaults().targetModules() : settings.targetModules();
        int rank = settings.rank() > 0 ? settings.rank() : LokrSpec.DEFAULT_RANK;
        return new LokrSpec(targets, rank, settings.alpha() > 0 ? (float) settings.alpha() : rank, false, -1);
    }

    /**
     * The policy's LoRA initialiser ({@code init}): {@code null} for PEFT's default. CorDA's context: the task's own
     * texts (IPM); for KPM the texts of the stream's earlier tasks, whose behaviour the frozen large components keep
     * (a stream's first task has none, so it calibrates on its own texts, and provenance says so).
     */
    PrincipalInitialisation principalInit(TrainAdapter command, List<LabeledText> train) {
        AdapterSettings settings = command.adapter();
        if (settings == null || settings.init() == null || settings.init().isBlank() || settings.init().equalsIgnoreCase("default")) return null;
        PrincipalInit.Method method = PrincipalInit.Method.of(settings.init());
        List<String> own = train.stream().map(LabeledText::text).toList();
        if (method == PrincipalInit.Method.PISSA) return PrincipalInitialisation.pissa();
        if (method == PrincipalInit.Method.CORDA_IPM) return new PrincipalInitialisation(method, own);
        List<String> earlier = new ArrayList<>();
        Set<String> tasks = new LinkedHashSet<>();
        for (ServiceClients.AdapterEntry a : clients.adapters(command.streamId(), null)) {
            if (a.taskKey() != null && !a.taskKey().equals(command.taskKey())) tasks.add(a.taskKey());
        }
        for (String task : tasks) {
            ServiceClients.Dataset d = clients.dataset(command.streamId(), task);
            if (d != null) d.train().forEach(t -> earlier.add(t.text()));
        }
        log.info("job {}: corda-kpm calibrates on {} texts of {} earlier tasks", command.jobId(), earlier.size(), tasks.size());
        return new PrincipalInitialisation(method, earlier.isEmpty() ? own : earlier);
    }


    /**
     * The bottleneck spec of a {@code bottleneck} adapter type (Pfeiffer, sequential, reduction factor 16 unless
     * {@code settings.bottleneck()} says otherwise), else {@code null}; bottleneck settings with another type are refused.
     */
    static BottleneckSpec bottleneckSpec(AdapterSettings settings) {
        if (settings == null) return null;
        boolean isBottleneck = settings.type() != null && settings.type().equalsIgnoreCase("bottleneck");
        BottleneckSettings b = settings.bottleneck();
        if (!isBottleneck) {
            if (b != null) throw new IllegalArgumentException("bottleneck settings given for adapter type '" + settings.type() + "', not 'bottleneck'");
            return null;
        }
        BottleneckSpec d = BottleneckSpec.defaults();
        if (b == null) return d;
        return new BottleneckSpec(
                b.architecture() == null ? d.architecture() : parse(BottleneckSpec.Architecture.class, "architecture", b.architecture()),
                b.placement() == null ? d.placement() : parse(BottleneckSpec.Placement.class, "placement", b.placement()),
                b.reductionFactor() == null ? d.reductionFactor() : b.reductionFactor());
    }

    /** A {@code bottleneck} type's sharing with the previous task's adapter ({@code single} unless the settings say otherwise). */
    static BottleneckSharing bottleneckSharing(AdapterSettings settings) {
        BottleneckSettings b = settings == null ? null : settings.bottleneck();
        return b == null || b.sharing() == null ? BottleneckSharing.SINGLE : parse(BottleneckSharing.class, "sharing", b.sharing());
    }

    /** A {@code bottleneck} type's MoSA settings when {@code mosaExperts} is given, else {@code null} (plain training). */
    static MosaSettings mosaSettings(AdapterSettings settings) {
        BottleneckSettings b = settings == null ? null : settings.bottleneck();
        if (b == null || b.mosaExperts() == null) {
            if (b != null && b.mosaConsistencyWeight() != null) throw new IllegalArgumentException("bottleneck mosaConsistencyWeight needs mosaExperts");
            return null;
        }
        return new MosaSettings(b.mosaExperts(), b.mosaConsistencyWeight() == null ? MosaSettings.DEFAULT_CONSISTENCY_WEIGHT
                : b.mosaConsistencyWeight().floatValue());
    }

    private static <E extends Enum<E>> E parse(Class<E> type, String field, String value) {
        for (E e : type.getEnumConstants()) if (e.name().equalsIgnoreCase(value)) return e;
        throw new IllegalArgumentException("bottleneck " + field + " '" + value + "' is not one of "
                + java.util.Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(java.util.Locale.ROOT)).toList());
    }

    static LoraSpec loraSpec(AdapterSettings settings) {
        if (settings == null) return LoraSpec.defaults();
        String type = settings.type() == null ? "lora" : settings.type().toLowerCase(java.util.Locale.ROOT);
        if (!type.equals("lora") && !type.equals("dora")) {
            throw new IllegalArgumentException("adapter type '" + settings.type() + "' is not a LoRA type (supported: " + ADAPTER_TYPES + ")");
        }
        LoraSpec d = LoraSpec.defaults();
        return new LoraSpec(settings.rank() > 0 ? settings.rank() : d.rank(),
                settings.alpha() > 0 ? (float) settings.alpha() : d.alpha(),
                settings.dropout() >= 0 ? (float) settings.dropout() : d.dropout(),
                settings.targetModules() == null || settings.targetModules().isEmpty() ? d.targetModules() : settings.targetModules(),
                false, type.equals("dora") ? LoraVariant.DORA : LoraVariant.STANDARD);
    }

    /** The (IA)^3 spec of an {@code ia3} adapter type (PEFT's BERT defaults unless modules are given), else {@code null}. */
    static Ia3Spec ia3Spec(AdapterSettings settings) {
        if (settings == null || settings.type() == null || !settings.type().equalsIgnoreCase("ia3")) {
            if (settings != null && settings.type() != null && !ADAPTER_TYPES.contains(settings.type().toLowerCase(java.util.Locale.ROOT))) {
                throw new IllegalArgumentException("adapter type '" + settings.type() + "' is not supported (supported: " + ADAPTER_TYPES + ")");
            }
            return null;
        }
        if (settings.targetModules() == null || settings.targetModules().isEmpty()) return Ia3Spec.defaults();
        // feed-forward as in PEFT's BERT mapping: the output projections' inputs are scaled
        return new Ia3Spec(settings.targetModules(), settings.targetModules().stream()
                .filter(m -> m.equals("output.dense") || m.equals("attention.output.dense")).toList());
    }

    static TrainingSpec trainingSpec(TrainingSettings s) {
        TrainingSpec d = TrainingSpec.defaults();
        if (s == null) return d;
        return new TrainingSpec(s.epochs() > 0 ? s.epochs() : d.epochs(), s.batchSize() > 0 ? s.batchSize() : d.batchSize(),
                s.learningRate() > 0 ? (float) s.learningRate() : d.learningRate(), d.weightDecay(), d.warmupRatio(),
                d.maxGradNorm(), s.seed(), s.maxLength() > 0 ? s.maxLength() : d.maxLength(), d.checkpointEvery(),
                s.gradientAccumulation() == null ? d.gradientAccumulation() : s.gradientAccumulation(),
                s.validationFraction() == null ? d.validationFraction() : s.validationFraction().floatValue(),
                s.patience() == null ? d.patience() : s.patience());
    }

    /**
     * Progress is a heartbeat: best effort. A broker that is briefly away must not kill a training
     * job; if it stays away, the missing heartbeats let Temporal retry the job (from its checkpoint).
     */
    private void progress(TrainAdapter c, int step, int total, int epoch, double loss, double rate) {
        try {
            publish(new TrainingProgress(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                    c.taskKey(), c.jobId(), c.taskToken(), step, total, epoch, loss, rate, base.device()));
        } catch (RuntimeException e) {
            log.warn("progress of job {} at step {} not published: {}", c.jobId(), step, e.toString());
        }
    }

    private static CommandFailed failure(TrainAdapter c, String reason, boolean retryable) {
        return new CommandFailed(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                c.taskToken(), "TrainAdapter", reason, retryable);
    }

    private void publish(LaminaMessage message) {
        publisher.publish(Topics.TRAINING_EVENTS, message);
    }

    private Optional<TrainingCompleted> completed(String jobId) {
        return jdbc.query("select result from training_job where job_id = ? and status = 'COMPLETED'",
                (rs, n) -> Json.read(rs.getString(1), TrainingCompleted.class), jobId).stream().findFirst();
    }

    private void remember(TrainingCompleted result) {
        jdbc.update("""
                insert into training_job(job_id, stream_id, task_key, status, result) values (?, ?, ?, 'COMPLETED', ?::jsonb)
                on conflict (job_id) do update set status = 'COMPLETED', result = excluded.result, updated_at = now()""",
                result.jobId(), result.streamId(), result.taskKey(), Json.write(result));
    }

    private static String safeName(String jobId) {
        return jobId.replaceAll("[^A-Za-z0-9._-]", "_");
    }



    /** Closing starts with this event, before the Kafka listener is stopped and waited for. */
    @org.springframework.context.event.EventListener(org.springframework.context.event.ContextClosedEvent.class)
    void stop() {
        stopping = true;
    }

    private static final class WorkerStopping extends RuntimeException {
        final int step;

        WorkerStopping(int step) {
            super("worker stopping", null, false, false);
            this.step = step;
        }
    }
}

package io.lamina.engine.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.bottleneck.BottleneckInit;
import io.lamina.engine.adapter.bottleneck.BottleneckSharing;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.bottleneck.Mosa;
import io.lamina.engine.adapter.bottleneck.MosaSettings;
import io.lamina.engine.adapter.ia3.Ia3Init;
import io.lamina.engine.adapter.prompt.PromptTuningInit;
import io.lamina.engine.adapter.prompt.PromptTuningSpec;
import io.lamina.engine.adapter.ia3.Ia3Spec;
import io.lamina.engine.adapter.lokr.LokrInit;
import io.lamina.engine.adapter.lokr.LokrSpec;
import io.lamina.engine.adapter.lokr.SokaInit;
import io.lamina.engine.adapter.lokr.SokaSpec;
import io.lamina.engine.adapter.lora.LoraInit;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.mora.RankGate;
import io.lamina.engine.continual.TaskDescriptor;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.BottleneckArrays;
import io.lamina.engine.model.Ia3Arrays;
import io.lamina.engine.model.ResidualWeights;
import io.lamina.engine.model.LokrArrays;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.AdamW.Param;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Trains a LoRA adapter and its {@link PrototypeHead} on a frozen {@link BaseModel}.
 *
 * <p>The head's prototypes start as the L2-normalised class means of the train set's embeddings
 * under the initial adapter (the base model when B is zero) and are trained jointly with the
 * LoRA factors; logits are {@value #HEAD_SCALE}{@code  * cos(embedding, prototype)}, loss is
 * cross-entropy. Optimiser: AdamW with decoupled weight decay (LoRA factors only: the head is
 * scale-invariant), linear warm-up then cosine decay, global-norm clipping.
 *
 * <p>What it trains: LoRA factors (plain, rsLoRA, or DoRA with its magnitude vectors), MoRA's gated
 * rank-1 experts, (IA)^3 vectors, LoKr factors, SoKA's KPSVD-initialised Kronecker stacks, bottleneck adapters or
 * prompt tuning's virtual tokens ({@link TrainingRequest#of} with the type's spec); the same head, schedule and
 * checkpoints for all. Gradient accumulation runs
 * {@code gradientAccumulation} micro-batches per optimizer step;
 * with a validation fraction, each class's held-out share is scored after every epoch, the best epoch's
 * weights are the result and {@code patience} epochs without improvement stop the run.
 *
 * <p>Determinism and resume: epoch {@code e} orders its examples with {@code Random(seed + e)},
 * dropout is reseeded from {@code (seed, step)} before every step, and a checkpoint holds the
 * factors, the raw prototypes, the AdamW moments and the step, so a run resumed from step
 * {@code k} takes exactly the steps an uninterrupted run would. The checkpoint is cleared when
 * the run completes; one whose run signature (data, specs, base) differs is ignored.
 *
 * <p>The adapter's provenance ({@code trained}) records seed, steps (taken), epochs, train-examples,
 * final-loss (mean batch loss of the last epoch), lr and device, plus the request's details; with
 * accumulation gradient-accumulation and effective-batch-size; with validation validation-examples,
 * best-epoch, best-validation-loss and stopped-at-epoch (epochs count from 0).
 *
 * <p>DJL permits one {@code GradientCollector} per process, so steps of concurrent runs are
 * serialised; inference ({@link BaseModel#embed}) is not affected.
 */
public final class LoraTrainer {
    /** Fixed cosine-logit scale of the head. */
    public static final float HEAD_SCALE = 16f;
    /** Key of the head's raw (un-normalised) prototypes in checkpoints. */
    static final String HEAD_KEY = "head.prototypes";
    private static final String CHECKPOINT_FORMAT = "lamina-lora-checkpoint/1";
    /** Batches per length-sorted group (HF "group by length"): padding stays near each batch's own length. */
    private static final int LENGTH_GROUP_BATCHES = 16;
    private static final Object STEP_LOCK = new Object();
    private static final Logger log = LoggerFactory.getLogger(LoraTrainer.class);

    private final BaseModel base;

    public LoraTrainer(BaseModel base) {
        this.base = base;
    }

    /** One trainable tensor with its AdamW moments (all on the model's device). */

    /** Runs (or resumes) the training job and returns the trained adapter. */
    public Adapter train(TrainingRequest r) {
        return train(r, null);
    }

    /**
     * {@link #train(TrainingRequest)}, for a bottleneck job optionally with MoSA's split-and-merge training of the
     * up-projections ({@link MosaSettings}; {@code null}: plain training). The result is an ordinary bottleneck
     * adapter holding the merged up-projections.
     */
    public Adapter train(TrainingRequest r, MosaSettings mosaOrNull) {
        if (mosaOrNull != null && r.bottleneck() == null) throw new IllegalArgumentException("MoSA splits bottleneck adapters; this job trains another adapter type");
        TrainingSpec ts = r.training();
        LoraSpec spec = r.lora();
        int classes = r.labels().size();
        int hidden = base.hiddenSize();
        int layers = base.layers();
        Map<String, Integer> labelIndex = new HashMap<>();
        for (int c = 0; c < classes; c++) labelIndex.put(r.labels().get(c), c);
        // validation: a held-out share of each class, chosen by the seed (the rest trains)
        List<List<LabeledText>> split = validationSplit(r.train(), ts.validationFraction(), ts.seed());
        List<LabeledText> trainPart = split.get(0), validation = split.get(1);
        int n = trainPart.size();

        List<String> texts = new ArrayList<>(n);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            LabeledText t = trainPart.get(i);
            texts.add(t.text());
            y[i] = labelIndex.get(t.label());
        }
        List<long[]> ids = base.tokenize(texts, ts.maxLength());
        List<long[]> validationIds = base.tokenize(validation.stream().map(LabeledText::text).toList(), ts.maxLength());
        int[] validationY = validation.stream().mapToInt(t -> labelIndex.get(t.label())).toArray();

        // an optimizer step takes batchSize * gradientAccumulation examples, in micro-batches of batchSize
        int stepsPerEpoch = (n + ts.effectiveBatchSize() - 1) / ts.effectiveBatchSize();
        int totalSteps = ts.epochs() * stepsPerEpoch;
        int warmupSteps = (int) Math.ceil(ts.warmupRatio() * totalSteps);
        // MoRA: the warm start's experts stay frozen in front of this run's new ones.
        Map<String, HostTensor> frozen = frozenExperts(r);
        // PiSSA / CorDA: the factors start from W's own components, and W − s·B₀A₀ stays frozen
        PrincipalStart principal = principalStart(r);
        Map<String, String> sharedDetails = new LinkedHashMap<>();
        if (r.prompt() != null && ts.maxLength() + r.prompt().numVirtualTokens() > base.maxPositions()) {
            throw new IllegalArgumentException("maxLength " + ts.maxLength() + " plus " + r.prompt().numVirtualTokens() + " virtual tokens exceeds the base's "
                    + base.maxPositions() + " positions");
        }
        Map<String, HostTensor> initial = r.prompt() != null ? initialPrompt(r)
                : r.ia3() != null ? initialIa3(r)
                : r.lokr() != null ? initialLokr(r)
                : r.soka() != null ? initialSoka(r)
                : r.bottleneck() != null ? initialBottleneck(r, sharedDetails)
                : r.gateOrNull() != null ? LoraInit.initialWeights(spec, base.layers(), base.hiddenSize(), base.intermediateSize(), ts.seed())
                : principal != null ? principal.factors() : initialLora(r);
        String signature = signature(r, initial, frozen) + (mosaOrNull == null ? "" : " " + mosaOrNull);
        // The frozen base model's view of the task: class means for retrieval and the task's descriptor.
        float[][] baseEmbeddings = base.embedTokens(ids, null, null);
        float[][] basePrototypes = classMeans(baseEmbeddings, y, classes, ts.seed()).normalisedRows();

        try (NDManager mgr = base.manager().newSubManager()) {
            mgr.setName("lora-trainer");
            Optional<Safetensors.SafetensorsFile> checkpoint = loadCheckpoint(r.checkpointsOrNull(), signature, totalSteps);
            Map<String, HostTensor> start = new HashMap<>();
            int startStep = 0;
            double epochLossSum = 0;
            int epochLossCount = 0;
            EarlyStopping early = new EarlyStopping(ts.patience());
            if (checkpoint.isPresent()) {
                start.putAll(checkpoint.get().tensors());
                Map<String, String> meta = checkpoint.get().metadata();
                startStep = Integer.parseInt(meta.get("step"));
                epochLossSum = Double.parseDouble(meta.get("epoch-loss-sum"));
                epochLossCount = Integer.parseInt(meta.get("epoch-loss-count"));
                early.restore(meta, checkpoint.get().tensors());
                log.info("resuming LoRA training from checkpoint at step {}/{}", startStep, totalSteps);
            } else {
                start.putAll(initial);
                // Fresh factors have B = 0, so the initial adapter embeds exactly as the base model does.
                // Fresh (IA)^3 vectors are ones and fresh DoRA magnitudes the norms of W + sBA: also the base model.
                // Prompt tuning is the exception: its virtual tokens change every embedding from the first step on.
                float[][] initialEmbeddings = r.prompt() != null ? base.embedTokens(ids, adapterOf(r, frozen, null, initial, null, null))
                        : r.warmStartOrNull() == null ? baseEmbeddings
                        : r.ia3() != null ? base.embedTokens(ids, ia3Adapter(r.ia3(), initial, null, null))
                        : r.lokr() != null || r.soka() != null ? base.embedTokens(ids, adapterOf(r, frozen, null, initial, null, null))
                        : r.bottleneck() != null ? base.embedTokens(ids, bottleneckAdapter(r.bottleneck(), initial, null, null))
                        : r.gateOrNull() != null ? base.embedTokens(ids, moraAdapter(spec, frozen, initial, r.gateOrNull(), null))
                        : base.embedTokens(ids, spec, initial);
                start.put(HEAD_KEY, normalisedFlat(classMeans(initialEmbeddings, y, classes, ts.seed())));
            }

            // Parameters and moments: one NDArray each, updated in place for the whole run.
            List<Param> params = new ArrayList<>();
            Encoder encoder;
            MosaRun mosa = null;
            if (r.prompt() != null) {
                // the virtual tokens: no weight decay, which would pull them toward the zero vector, not toward any "off" state
                Param p = newParam(mgr, PromptTuningSpec.PEFT_KEY, start, 0f);
                params.add(p);
                encoder = (m, batchIds) -> base.encodePrompted(m, batchIds, p.value(), true);
            } else if (r.ia3() != null) {
                // (IA)^3 vectors: no weight decay, which would pull the scales toward 0 (features off), not toward 1 (the base).
                Ia3Spec ia3 = r.ia3();
                NDArray[][] stored = new NDArray[layers][ia3.targetModules().size()];
                for (int l = 0; l < layers; l++) {
                    for (int t = 0; t < ia3.targetModules().size(); t++) {
                        Param p = newParam(mgr, Ia3Spec.peftKey(l, ia3.targetModules().get(t)), start, 0f);
                        params.add(p);
                        stored[l][t] = p.value();
                    }
                }
                encoder = (m, batchIds) -> {
                    // flat views made inside the step's recording, so backward reaches the stored [out,1]/[1,in] parameters
                    NDArray[][] flat = new NDArray[layers][];
                    for (int l = 0; l < layers; l++) {
                        flat[l] = new NDArray[stored[l].length];
                        for (int t = 0; t < stored[l].length; t++) flat[l][t] = stored[l][t].reshape(stored[l][t].getShape().size());
                    }
                    return base.encode(m, batchIds, null, new Ia3Arrays(ia3, flat), true);
                };
            } else if (r.lokr() != null || r.soka() != null) {
                // LoKr factors decay like LoRA's (toward ΔW = 0, the base); SoKA's start at W's own components, so
                // decay would pull toward an update of −Σ A0⊗B0, not toward the base: none.
                float decay = r.lokr() != null ? ts.weightDecay() : 0f;
                Map<String, NDArray> arrays = new HashMap<>();
                for (String key : new TreeMap<>(initial).keySet()) {
                    if (r.soka() != null && isFrozenSoka(key)) {
                        HostTensor t = initial.get(key);
                        NDArray c = mgr.create(t.data(), new Shape(t.shape()));
                        NDScope.unregister(c);
                        arrays.put(key, c);
                        continue;
                    }
                    Param p = newParam(mgr, key, start, decay);
                    params.add(p);
                    arrays.put(key, p.value());
                }
                // w1 = w1_a · w1_b (and w2) are multiplied inside each step's recording, so backward reaches the halves
                encoder = (m, batchIds) -> base.encodeKronecker(m, batchIds, r.lokr() != null
                        ? LokrArrays.lokr(r.lokr(), layers, arrays::get) : LokrArrays.soka(r.soka(), layers, arrays::get), true);
            } else if (r.bottleneck() != null) {
                // weight decay on the projections' weights only, none on biases (the usual AdamW rule, as HF's Trainer);
                // decaying W_up pulls the adapter toward 0, i.e. toward the base model
                BottleneckSpec bn = r.bottleneck();
                BottleneckSpec.Tensor[] kinds = BottleneckSpec.Tensor.values();
                NDArray[][][] tensors = new NDArray[layers][bn.adaptersPerLayer()][kinds.length];
                for (int l = 0; l < layers; l++) {
                    for (int q = 0; q < bn.adaptersPerLayer(); q++) {
                        for (BottleneckSpec.Tensor t : kinds) {
                            if (mosaOrNull != null && t == BottleneckSpec.Tensor.UP_WEIGHT) continue; // split: MosaRun's experts
                            Param p = newParam(mgr, BottleneckSpec.peftKey(l, bn.positions().get(q), t), start, t.isBias() ? 0f : ts.weightDecay());
                            params.add(p);
                            tensors[l][q][t.ordinal()] = p.value();
                        }
                    }
                }
                if (mosaOrNull != null) {
                    mosa = MosaRun.create(mgr, base, bn, mosaOrNull, tensors, start, initial, ts, params);
                    sharedDetails.putAll(new TreeMap<>(mosa.details()));
                    MosaRun run = mosa;
                    encoder = (m, batchIds) -> base.encode(m, batchIds, null, null, run.sample(0, 0, 0), true);
                } else {
                    BottleneckArrays arrays = new BottleneckArrays(bn, tensors);
                    encoder = (m, batchIds) -> base.encode(m, batchIds, null, null, arrays, true);
                }
            } else {
                NDArray[][] a = new NDArray[layers][spec.targetModules().size()];
                NDArray[][] b = new NDArray[layers][spec.targetModules().size()];
                NDArray[][] magnitude = spec.dora() ? new NDArray[layers][spec.targetModules().size()] : null;
                for (int l = 0; l < layers; l++) {
                    for (int t = 0; t < spec.targetModules().size(); t++) {
                        String module = spec.targetModules().get(t);
                        Param pa = newParam(mgr, LoraSpec.peftKey(l, module, 'A'), start, ts.weightDecay());
                        Param pb = newParam(mgr, LoraSpec.peftKey(l, module, 'B'), start, ts.weightDecay());
                        params.add(pa);
                        params.add(pb);
                        a[l][t] = pa.value();
                        b[l][t] = pb.value();
                        if (magnitude != null) {
                            // DoRA magnitudes: no weight decay, which would shrink the layer's row norms toward 0, not toward W's.
                            Param pm = newParam(mgr, LoraSpec.magnitudeKey(l, module), start, 0f);
                            params.add(pm);
                            magnitude[l][t] = pm.value();
                        }
                    }
                }
                java.util.function.Supplier<LoraArrays> lora = magnitude != null
                        ? fixed(new LoraArrays(spec, a, b, null, magnitude)) : loraArrays(mgr, spec, a, b, frozen, r.gateOrNull());
                if (principal != null) {
                    ResidualWeights residual = base.residual(mgr, spec, principal.factors());
                    encoder = (m, batchIds) -> base.encode(m, batchIds, residual, lora.get(), true);
                } else {
                    encoder = (m, batchIds) -> base.encode(m, batchIds, lora.get(), true);
                }
            }
            Param head = newParam(mgr, HEAD_KEY, start, 0f);
            params.add(head);
            List<AnchorPull> anchors = anchors(mgr, r.anchorOrNull(), params, head);
            if (r.prompt() != null) {
                log.info("training prompt tuning {} on {} examples, {} classes: {} steps on {}", r.prompt(), n, classes, totalSteps, base.device());
            } else if (r.lokr() != null || r.soka() != null) {
                log.info("training {} on {} on {} examples, {} classes: {} steps on {}", r.lokr() != null ? "LoKr r=" + r.lokr().rank() : "SoKA",
                        r.lokr() != null ? r.lokr().targetModules() : r.soka().targetModules(), n, classes, totalSteps, base.device());
            } else if (r.bottleneck() != null) {
                log.info("training bottleneck adapters {} (sharing {}) on {} examples, {} classes: {} steps on {}", r.bottleneck(), r.bottleneckSharing(),
                        n, classes, totalSteps, base.device());
            } else if (r.ia3() != null) {
                log.info("training (IA)^3 on {} on {} examples, {} classes: {} steps on {}", r.ia3().targetModules(), n, classes, totalSteps, base.device());
            } else {
                log.info("training {} r={} on {} examples, {} classes: {} steps on {}", spec.dora() ? "DoRA" : "LoRA", spec.rank(), n, classes, totalSteps, base.device());
            }

            int cachedEpoch = -1;
            int[][] batches = null;
            float lastEpochMeanLoss = epochLossCount > 0 ? (float) (epochLossSum / epochLossCount) : Float.NaN;
            int stepsTaken = startStep;
            for (int step = startStep; step < totalSteps && !early.stopped(); step++) {
                int epoch = step / stepsPerEpoch;
                if (epoch != cachedEpoch) {
                    batches = epochBatches(ids, ts.seed(), epoch, ts.effectiveBatchSize());
                    cachedEpoch = epoch;
                }
                if (step % stepsPerEpoch == 0) {
                    epochLossSum = 0;
                    epochLossCount = 0;
                }
                int[] batch = batches[step % stepsPerEpoch];
                float lr = learningRate(step, totalSteps, warmupSteps, ts.learningRate());
                long t0 = System.nanoTime();
                float loss;
                synchronized (STEP_LOCK) {
                    synchronized (Autograd.STEP_LOCK) {
                        loss = step(mgr, ids, y, classes, batch, encoder, head, params, anchors, step, lr, ts, mosa);
                    }
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                if (!Float.isFinite(loss)) throw new IllegalStateException("training diverged: loss " + loss + " at step " + step);
                epochLossSum += loss;
                epochLossCount++;
                lastEpochMeanLoss = (float) (epochLossSum / epochLossCount);
                int done = step + 1;
                stepsTaken = done;
                if (!validation.isEmpty() && done % stepsPerEpoch == 0) {
                    // end of an epoch: score the current weights on the held-out examples, keep the best
                    Map<String, HostTensor> current = new TreeMap<>();
                    for (Param p : params) current.put(p.key(), HostTensor.of(p.value()));
                    Adapter now = adapterOf(r, frozen, principal, current, new PrototypeHead(r.labels(),
                            HostTensor.of(head.value()).normalisedRows(), HEAD_SCALE), null);
                    float validationLoss = validationLoss(now, validationIds, validationY);
                    early.epochEnded(epoch, validationLoss, current);
                    log.info("epoch {}: validation loss {} (best {} after epoch {})", epoch, validationLoss, early.bestLoss, early.bestEpoch);
                }
                if (r.checkpointsOrNull() != null && ts.checkpointEvery() > 0 && done % ts.checkpointEvery() == 0 && done < totalSteps && !early.stopped()) {
                    r.checkpointsOrNull().save(checkpointBytes(params, done, signature, epochLossSum, epochLossCount, early));
                }
                if (r.trajectoryOrNull() != null && r.trajectoryOrNull().wants(done, totalSteps)) {
                    Map<String, HostTensor> snapshot = new TreeMap<>();
                    for (Param p : params) if (p != head) snapshot.put(p.key(), HostTensor.of(p.value()));
                    r.trajectoryOrNull().record(done, snapshot);
                }
                r.listener().onProgress(new TrainingProgress(done, totalSteps, epoch, loss, (float) (batch.length / seconds)));
            }

            // with validation the result is the best epoch's weights, else the last step's
            Map<String, HostTensor> result = new TreeMap<>();
            for (Param p : params) result.put(p.key(), HostTensor.of(p.value()));
            if (early.best != null) result = early.best;
            HostTensor headResult = result.remove(HEAD_KEY);
            Map<String, HostTensor> weights = result;
            if (r.soka() != null) {
                for (Map.Entry<String, HostTensor> e : initial.entrySet()) if (isFrozenSoka(e.getKey())) weights.put(e.getKey(), e.getValue());
            }
            PrototypeHead trainedHead = new PrototypeHead(r.labels(), headResult.normalisedRows(), HEAD_SCALE, basePrototypes);
            Map<String, String> details = new LinkedHashMap<>(r.provenanceDetails());
            details.put("seed", Long.toString(ts.seed()));
            details.put("steps", Integer.toString(stepsTaken));
            details.put("epochs", Integer.toString(ts.epochs()));
            details.put("train-examples", Integer.toString(n));
            if (ts.gradientAccumulation() > 1) {
                details.put("gradient-accumulation", Integer.toString(ts.gradientAccumulation()));
                details.put("effective-batch-size", Integer.toString(ts.effectiveBatchSize()));
            }
            if (!validation.isEmpty()) {
                details.put("validation-examples", Integer.toString(validation.size()));
                details.put("best-epoch", Integer.toString(early.bestEpoch));
                details.put("best-validation-loss", Float.toString(early.bestLoss));
                // the epoch (from 0) after which training ended: the last one unless early stopping cut the run short
                details.put("stopped-at-epoch", Integer.toString(early.stopped() ? early.lastEpoch : ts.epochs() - 1));
                if (ts.patience() > 0) details.put("patience", Integer.toString(ts.patience()));
            }
            details.put("final-loss", Float.toString(lastEpochMeanLoss));
            details.put("lr", Float.toString(ts.learningRate()));
            details.put("device", base.device());
            // A retried job that resumed says from where: its result equals an uninterrupted run's.
            if (startStep > 0) details.put("resumed-at-step", Integer.toString(startStep));
            if (r.anchorOrNull() != null) details.put("anchor-momentum", Float.toString(r.anchorOrNull().momentum()));
            if (r.gateOrNull() != null) details.put("frozen-experts", Integer.toString(frozenRank(frozen, spec)));
            if (principal != null) details.putAll(principal.provenance());
            details.putAll(sharedDetails);
            AdapterProvenance provenance = new AdapterProvenance(AdapterProvenance.TRAINED, details);
            Adapter adapter = adapterOf(r, frozen, principal, weights, trainedHead, provenance);
            if (n >= 4) adapter = adapter.withDescriptor(TaskDescriptor.fit(baseEmbeddings, TaskDescriptor.DEFAULT_COMPONENTS));
            if (r.checkpointsOrNull() != null) r.checkpointsOrNull().clear();
            log.info("training done: {} of {} steps, final epoch loss {}", stepsTaken, totalSteps, lastEpochMeanLoss);
            return adapter;
        }
    }

    /**
     * A head for {@code adapter}'s weights on new data without training: the class means of the data's
     * embeddings under the adapter, with the base model's class means for retrieval (SEMA's "no
     * expansion" case, and any head-only adaptation).
     */
    public PrototypeHead prototypeHead(Adapter adapter, List<LabeledText> data, List<String> labels, int maxLength, long seed) {
        Map<String, Integer> index = new HashMap<>();
        for (int c = 0; c < labels.size(); c++) index.put(labels.get(c), c);
        int[] y = new int[data.size()];
        List<String> texts = new ArrayList<>(data.size());
        for (int i = 0; i < y.length; i++) {
            Integer c = index.get(data.get(i).label());
            if (c == null) throw new IllegalArgumentException("example label '" + data.get(i).label() + "' is not among " + labels);
            y[i] = c;
            texts.add(data.get(i).text());
        }
        List<long[]> ids = base.tokenize(texts, maxLength);
        float[][] under = classMeans(base.embedTokens(ids, adapter), y, labels.size(), seed).normalisedRows();
        float[][] frozen = classMeans(base.embedTokens(ids, null, null), y, labels.size(), seed).normalisedRows();
        return new PrototypeHead(labels, under, HEAD_SCALE, frozen);
    }

    /**
     * One forward/backward/update. Everything it allocates lives in an {@link NDScope} and is
     * freed on return; parameters and moments are updated in place after the gradient collector
     * is closed (PyTorch refuses in-place updates of leaves while recording).
     *
     * <p>AdamW is written here on NDArrays rather than using DJL's {@code Optimizer} because its
     * moments must go into checkpoints, and DJL's optimizers keep them private.
     */
    private float step(NDManager mgr, List<long[]> ids, int[] y, int classes, int[] batch, Encoder encoder, Param head,
                       List<Param> params, List<AnchorPull> anchors, int step, float lr, TrainingSpec ts, StepHooks hooks) {
        float lossValue = 0f;
        int micro = 0;
        for (int from = 0; from < batch.length; from += ts.batchSize(), micro++) {
            MicroBatch mb = MicroBatch.of(ids, y, batch, from, Math.min(batch.length, from + ts.batchSize()));
            List<long[]> batchIds = mb.ids();
            int[] labels = mb.labels();
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                // micro-batch 0 keeps the seed a step always had, so runs without accumulation are unchanged
                Engine.getInstance().setRandomSeed(dropoutSeed(ts.seed() + 0x632BE59BD9B4E019L * micro, step));
                NDArray loss;
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    // weight n_i / N: the summed gradients are those of the mean loss over the whole step's batch
                    loss = (hooks != null ? hooks.loss(mgr, batchIds, head.value(), labels, classes, step, micro)
                            : headLoss(mgr, encoder.encode(mgr, batchIds), head.value(), labels, classes))
                            .mul(Autograd.constant(mgr, labels.length / (float) batch.length));
                    collector.backward(loss); // PyTorch adds into each parameter's .grad until AdamW.update zeroes it
                }
                lossValue += Autograd.value(loss);
            }
        }
        boolean grad = Autograd.disable();
        try (NDScope scope = new NDScope()) { // frees the update's temporaries
            scope.suppressNotUsedWarning();
            if (hooks != null) hooks.beforeUpdate();
            AdamW.update(params, step, lr, ts.maxGradNorm());
            if (hooks != null) hooks.afterUpdate();
            for (AnchorPull pull : anchors) pull.value().muli(pull.keep()).addi(pull.target()); // θ ← (1 − m)·θ + m·anchor
            return lossValue;
        } finally {
            Autograd.restore(grad);
        }
    }

    /**
     * Mean cross-entropy of the cosine head: logits {@value #HEAD_SCALE}{@code  * cos(embedding, prototype)}.
     *
     * @param embeddings    {@code [B, H]}, L2-normalised
     * @param rawPrototypes {@code [C, H]}, normalised here
     * @param labels        the class of each of the {@code B} rows
     */
    public static NDArray headLoss(NDManager mgr, NDArray embeddings, NDArray rawPrototypes, int[] labels, int classes) {
        float[] oneHot = new float[labels.length * classes];
        for (int i = 0; i < labels.length; i++) oneHot[i * classes + labels[i]] = 1f;
        // Scalars as engine-owned constants, not mul(Number)/div(Number): autograd saves them for
        // backward, and DJL would free a Number's buffer at the next GC (see Autograd#constant).
        NDArray prototypes = rawPrototypes.normalize(2, 1, 1e-12);                                         // [C, H]
        NDArray logits = embeddings.matMul(prototypes.transpose()).mul(Autograd.constant(mgr, HEAD_SCALE)); // [B, C]
        NDArray targets = mgr.create(oneHot, new Shape(labels.length, classes));
        return logits.logSoftmax(1).mul(targets).sum().div(Autograd.constant(mgr, -labels.length));
    }

    /** The cosine head's logits {@code [B, C]}: {@value #HEAD_SCALE}{@code  * cos(embedding, prototype)} (as in {@link #headLoss}). */
    public static NDArray headLogits(NDManager mgr, NDArray embeddings, NDArray rawPrototypes) {
        return embeddings.matMul(rawPrototypes.normalize(2, 1, 1e-12).transpose()).mul(Autograd.constant(mgr, HEAD_SCALE));
    }

    /**
     * Replaces a step's forward and loss and runs around its optimizer update (MoSA's expert sampling, consistency
     * term and gradient masks); {@code null} in {@link #step}: the encoder and {@link #headLoss}.
     */
    interface StepHooks {
        /** The micro-batch's loss (mean over its rows), recorded for backward. */
        NDArray loss(NDManager mgr, List<long[]> batchIds, NDArray head, int[] labels, int classes, int step, int micro);

        /** After backward, before AdamW (grad mode off). */
        void beforeUpdate();

        /** After AdamW (grad mode off). */
        void afterUpdate();
    }


    /** Linear warm-up to {@code peak} over {@code warmup} steps (first step already > 0), then cosine decay. */
    public static float learningRate(int step, int total, int warmup, float peak) {
        if (step < warmup) return peak * (step + 1) / warmup;
        double progress = (step - warmup) / (double) Math.max(1, total - warmup);
        return (float) (peak * 0.5 * (1 + Math.cos(Math.PI * progress)));
    }

    /**
     * The batches of one epoch: shuffle with {@code Random(seed + epoch)}, sort each group of
     * {@value #LENGTH_GROUP_BATCHES} batches' worth of examples by length so batches pad little,
     * cut into batches, then shuffle the batch order with the same generator.
     */
    static int[][] epochBatches(List<long[]> ids, long seed, int epoch, int batchSize) {
        int n = ids.size();
        Random random = new Random(seed + epoch);
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            Integer tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        int group = batchSize * LENGTH_GROUP_BATCHES;
        Comparator<Integer> longestFirst = Comparator.comparingInt((Integer i) -> ids.get(i).length).reversed();
        for (int start = 0; start < n; start += group) {
            Arrays.sort(order, start, Math.min(n, start + group), longestFirst); // stable
        }
        List<int[]> batches = new ArrayList<>();
        for (int start = 0; start < n; start += group) {
            int groupEnd = Math.min(n, start + group);
            for (int s = start; s < groupEnd; s += batchSize) {
                int e = Math.min(groupEnd, s + batchSize);
                int[] batch = new int[e - s];
                for (int i = s; i < e; i++) batch[i - s] = order[i];
                batches.add(batch);
            }
        }
        for (int i = batches.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int[] tmp = batches.get(i);
            batches.set(i, batches.get(j));
            batches.set(j, tmp);
        }
        return batches.toArray(new int[0][]);
    }

    private static int dropoutSeed(long seed, int step) {
        long z = seed * 0x9E3779B97F4A7C15L + step;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (int) ((z ^ (z >>> 31)) & 0x7fffffff);
    }

    /** The adapter these weights (keyed as the trainer keys them, no head) make, of the request's kind. */
    private Adapter adapterOf(TrainingRequest r, Map<String, HostTensor> frozen, PrincipalStart principalOrNull, Map<String, HostTensor> weights,
                              PrototypeHead head, AdapterProvenance provenanceOrNull) {
        Map<String, HostTensor> w = new TreeMap<>(weights);
        w.remove(HEAD_KEY);
        AdapterProvenance p = provenanceOrNull != null ? provenanceOrNull : new AdapterProvenance(AdapterProvenance.TRAINED, Map.of());
        if (r.ia3() != null) return ia3Adapter(r.ia3(), w, head, p);
        PrototypeHead h = head != null ? head : new PrototypeHead(List.of("-"), new float[][]{new float[base.hiddenSize()]}, HEAD_SCALE);
        if (r.prompt() != null) return Adapter.of(r.prompt(), w, h, base.id(), base.fingerprint(), p);
        if (r.lokr() != null) return Adapter.of(r.lokr(), w, h, base.id(), base.fingerprint(), p);
        if (r.soka() != null) return Adapter.of(r.soka(), w, h, base.id(), base.fingerprint(), p);
        if (r.bottleneck() != null) return bottleneckAdapter(r.bottleneck(), Mosa.merged(w), head, p); // MoSA: experts averaged
        if (r.gateOrNull() != null) return moraAdapter(r.lora(), frozen, w, r.gateOrNull(), head).withProvenance(p);
        if (principalOrNull != null) {
            return Adapter.lora(PrincipalStart.baseSpec(r.lora()), principalOrNull.onOriginalBase(r.lora(), w), head, base.id(), base.fingerprint(), p);
        }
        return Adapter.lora(r.lora(), w, head, base.id(), base.fingerprint(), p);
    }

    /**
     * The run's principal start, or {@code null} for PEFT's default init (no initialiser asked for, or a warm start
     * of the same shape given: continuing an adapter wins over decomposing W again).
     */
    private PrincipalStart principalStart(TrainingRequest r) {
        if (r.principalOrNull() == null) return null;
        if (warmFactorsOrNull(r) != null) {
            log.info("{} not used: the run continues its warm start", r.principalOrNull().method().id());
            return null;
        }
        return PrincipalStart.of(base, r.lora(), r.principalOrNull(), r.training().maxLength());
    }

    /**
     * The held-out share of each class ({@code [train, validation]}): per class, {@code round(fraction * count)}
     * examples chosen by a seeded shuffle, at least one when the fraction is positive and the class has two or
     * more, never the last one of a class. Order within each part follows the input.
     */
    static List<List<LabeledText>> validationSplit(List<LabeledText> data, float fraction, long seed) {
        if (fraction <= 0f) return List.of(data, List.of());
        Map<String, List<Integer>> byClass = new java.util.LinkedHashMap<>();
        for (int i = 0; i < data.size(); i++) byClass.computeIfAbsent(data.get(i).label(), k -> new ArrayList<>()).add(i);
        java.util.Set<Integer> held = new java.util.HashSet<>();
        Random random = new Random(seed ^ 0x7A11DA7E5EEDL);
        for (List<Integer> members : byClass.values()) {
            if (members.size() < 2) continue;
            List<Integer> shuffled = new ArrayList<>(members);
            java.util.Collections.shuffle(shuffled, random);
            int k = Math.min(members.size() - 1, Math.max(1, Math.round(fraction * members.size())));
            held.addAll(shuffled.subList(0, k));
        }
        List<LabeledText> train = new ArrayList<>(), validation = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) (held.contains(i) ? validation : train).add(data.get(i));
        return List.of(train, validation);
    }

    /** Mean cross-entropy of {@code adapter}'s cosine head on the examples (inference: no dropout, no gradients). */
    private float validationLoss(Adapter adapter, List<long[]> ids, int[] y) {
        return headLoss(base.embedTokens(ids, adapter), adapter.head().prototypes(), y);
    }

    /**
     * Mean cross-entropy of a cosine head on host embeddings: logits {@code HEAD_SCALE · e·p_c} over the rows of
     * {@code protos}, in double precision.
     */
    public static float headLoss(float[][] emb, float[][] protos, int[] y) {
        double sum = 0;
        for (int i = 0; i < emb.length; i++) {
            double[] logits = new double[protos.length];
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < protos.length; c++) {
                double dot = 0;
                for (int j = 0; j < emb[i].length; j++) dot += (double) emb[i][j] * protos[c][j];
                logits[c] = HEAD_SCALE * dot;
                max = Math.max(max, logits[c]);
            }
            double z = 0;
            for (double l : logits) z += Math.exp(l - max);
            sum += max + Math.log(z) - logits[y[i]];
        }
        return (float) (sum / emb.length);
    }

    /**
     * Early stopping on the validation loss: the best epoch's weights (head included), and how many epochs
     * in a row have not improved on it. Its state goes into checkpoints, so a resumed run stops where an
     * uninterrupted one would.
     */
    static final class EarlyStopping {
        private final int patience;
        Map<String, HostTensor> best;
        float bestLoss = Float.POSITIVE_INFINITY;
        int bestEpoch = -1;
        int lastEpoch = -1;
        int badEpochs;

        EarlyStopping(int patience) {
            this.patience = patience;
        }

        void epochEnded(int epoch, float loss, Map<String, HostTensor> weights) {
            lastEpoch = epoch;
            if (loss < bestLoss) {          // ties keep the earlier epoch
                bestLoss = loss;
                bestEpoch = epoch;
                best = new TreeMap<>(weights);
                badEpochs = 0;
            } else {
                badEpochs++;
            }
        }

        boolean stopped() {
            return patience > 0 && badEpochs >= patience;
        }

        void save(Map<String, HostTensor> tensors, Map<String, String> meta) {
            if (best == null) return;
            meta.put("best-epoch", Integer.toString(bestEpoch));
            meta.put("best-loss", Float.toString(bestLoss));
            meta.put("last-epoch", Integer.toString(lastEpoch));
            meta.put("bad-epochs", Integer.toString(badEpochs));
            for (Map.Entry<String, HostTensor> e : best.entrySet()) tensors.put("best." + e.getKey(), e.getValue());
        }

        void restore(Map<String, String> meta, Map<String, HostTensor> tensors) {
            if (!meta.containsKey("best-epoch")) return;
            bestEpoch = Integer.parseInt(meta.get("best-epoch"));
            bestLoss = Float.parseFloat(meta.get("best-loss"));
            lastEpoch = Integer.parseInt(meta.get("last-epoch"));
            badEpochs = Integer.parseInt(meta.get("bad-epochs"));
            best = new TreeMap<>();
            for (Map.Entry<String, HostTensor> e : tensors.entrySet()) {
                if (e.getKey().startsWith("best.")) best.put(e.getKey().substring(5), e.getValue());
            }
        }
    }

    /** How a step embeds a batch under the adapter being trained (recorded by autograd). */
    @FunctionalInterface
    private interface Encoder {
        NDArray encode(NDManager mgr, List<long[]> batch);
    }

    private static <T> java.util.function.Supplier<T> fixed(T value) {
        return () -> value;
    }

    /** The warm start's vectors when it is an (IA)^3 adapter of the same spec on this base, else ones. */
    private Map<String, HostTensor> initialIa3(TrainingRequest r) {
        Map<String, HostTensor> fresh = Ia3Init.initialWeights(r.ia3(), base.layers(), base.hiddenSize(), base.intermediateSize());
        Adapter warm = r.warmStartOrNull();
        if (warm != null && warm.kind() == AdapterKind.IA3 && warm.ia3().equals(r.ia3())
                && (warm.baseFingerprint() == null || warm.baseFingerprint().equals(base.fingerprint()))) {
            boolean complete = fresh.keySet().stream().allMatch(k -> warm.weights().containsKey(k)
                    && Arrays.equals(warm.weights().get(k).shape(), fresh.get(k).shape()));
            if (complete) {
                log.info("warm-starting (IA)^3 vectors from the given adapter");
                Map<String, HostTensor> out = new TreeMap<>();
                for (String k : fresh.keySet()) out.put(k, warm.weights().get(k));
                return out;
            }
        }
        if (warm != null) log.info("warm-start adapter is not an (IA)^3 adapter of this spec and base; starting from ones");
        return fresh;
    }

    /**
     * The warm start's virtual tokens when it is a prompt-tuning adapter of the same spec on this base, else PEFT's init
     * ({@link PromptTuningInit}: seeded N(0, 1), the init text's word embeddings, or sampled vocabulary rows).
     */
    private Map<String, HostTensor> initialPrompt(TrainingRequest r) {
        PromptTuningSpec spec = r.prompt();
        Adapter warm = r.warmStartOrNull();
        Map<String, HostTensor> expected = Map.of(PromptTuningSpec.PEFT_KEY, new HostTensor(spec.shape(base.hiddenSize()), new float[(int) spec.parameters(base.hiddenSize())]));
        if (warm != null && warm.kind() == AdapterKind.PROMPT_TUNING && warm.prompt().equals(spec) && sameShapes(warm, expected)) {
            log.info("warm-starting the virtual tokens from the given adapter");
            return new TreeMap<>(warm.weights());
        }
        if (warm != null) log.info("warm-start adapter is not a prompt-tuning adapter of this spec and base; starting from PEFT's {} init", spec.init());
        PromptTuningInit.Vocabulary vocabulary = new PromptTuningInit.Vocabulary() {
            @Override public int size() { return base.vocabularySize(); }
            @Override public long[] tokenize(String text) { return base.tokenize(List.of(text), base.maxPositions()).get(0); }
            @Override public float[] wordEmbeddings(long[] ids) { return base.wordEmbeddingRows(ids); }
        };
        return new TreeMap<>(PromptTuningInit.initialWeights(spec, base.hiddenSize(), vocabulary, r.training().seed()));
    }

    /** The warm start's factors when it is a LoKr adapter of the same spec on this base, else PEFT's init (seeded). */
    private Map<String, HostTensor> initialLokr(TrainingRequest r) {
        Map<String, HostTensor> fresh = LokrInit.initialWeights(r.lokr(), base.layers(), base.hiddenSize(), base.intermediateSize(), r.training().seed());
        Adapter warm = r.warmStartOrNull();
        if (warm != null && warm.kind() == AdapterKind.LOKR && warm.lokr().equals(r.lokr()) && sameShapes(warm, fresh)) {
            log.info("warm-starting LoKr factors from the given adapter");
            return new TreeMap<>(warm.weights());
        }
        if (warm != null) log.info("warm-start adapter is not a LoKr adapter of this spec and base; starting from PEFT's init");
        return fresh;
    }

    /**
     * The warm start's stacks (trained and frozen) when it is a SoKA adapter of the same spec on this base, else the
     * KPSVD of the base's weights ({@link SokaInit}).
     */
    private Map<String, HostTensor> initialSoka(TrainingRequest r) {
        Adapter warm = r.warmStartOrNull();
        if (warm != null && warm.kind() == AdapterKind.SOKA && warm.soka().equals(r.soka())
                && (warm.baseFingerprint() == null || warm.baseFingerprint().equals(base.fingerprint()))) {
            log.info("warm-starting SoKA factors from the given adapter");
            return new TreeMap<>(warm.weights());
        }
        if (warm != null) log.info("warm-start adapter is not a SoKA adapter of this spec and base; starting from the KPSVD");
        return SokaInit.initialWeights(r.soka(), base.layers(), base.hiddenSize(), base.intermediateSize(), base::pretrainedWeight);
    }

    private static boolean isFrozenSoka(String key) {
        return key.endsWith("." + SokaSpec.A0) || key.endsWith("." + SokaSpec.B0);
    }

    /** Whether {@code warm} belongs to this base and holds exactly {@code expected}'s keys with their shapes. */
    private boolean sameShapes(Adapter warm, Map<String, HostTensor> expected) {
        if (warm.baseFingerprint() != null && !warm.baseFingerprint().equals(base.fingerprint())) return false;
        if (!warm.weights().keySet().equals(expected.keySet())) return false;
        return expected.entrySet().stream().allMatch(e -> Arrays.equals(warm.weights().get(e.getKey()).shape(), e.getValue().shape()));
    }

    private Adapter ia3Adapter(Ia3Spec spec, Map<String, HostTensor> weights, PrototypeHead head, AdapterProvenance provenance) {
        PrototypeHead h = head != null ? head : new PrototypeHead(List.of("-"), new float[][]{new float[base.hiddenSize()]}, HEAD_SCALE);
        return Adapter.of(spec, weights, h, base.id(), base.fingerprint(),
                provenance != null ? provenance : new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
    }

    /**
     * A bottleneck run's starting weights: a fresh seeded init ({@link BottleneckInit}), with the halves that
     * {@link TrainingRequest#bottleneckSharing()} shares copied from the warm start when it is a bottleneck
     * adapter of the same spec on this base. What was shared goes into {@code details} (provenance):
     * {@code bottleneck-sharing} always, {@code bottleneck-shared} ({@code all}, {@code up}, {@code down}) when
     * something came from the warm start.
     */
    private Map<String, HostTensor> initialBottleneck(TrainingRequest r, Map<String, String> details) {
        BottleneckSpec spec = r.bottleneck();
        BottleneckSharing sharing = r.bottleneckSharing();
        Map<String, HostTensor> fresh = BottleneckInit.initialWeights(spec, base.layers(), base.hiddenSize(), r.training().seed());
        details.put("bottleneck-sharing", sharing.name());
        Adapter warm = r.warmStartOrNull();
        if (warm == null || sharing == BottleneckSharing.NONE) {
            if (warm != null) log.info("bottleneck sharing NONE: the warm-start adapter is not used, every task gets its own adapter");
            return fresh;
        }
        String mismatch = warm.kind() != AdapterKind.BOTTLENECK ? "it is a " + warm.kind() + " adapter"
                : !warm.bottleneck().equals(spec) ? "its spec is " + warm.bottleneck() + ", this run's " + spec
                : warm.baseFingerprint() != null && !warm.baseFingerprint().equals(base.fingerprint()) ? "it belongs to another base model"
                : null;
        if (mismatch != null) {
            if (sharing == BottleneckSharing.SINGLE) {
                log.info("warm-start adapter cannot be continued ({}); starting from a fresh init", mismatch);
                return fresh;
            }
            throw new IllegalArgumentException("bottleneck sharing " + sharing + " needs an earlier bottleneck adapter of the same spec on this base: " + mismatch);
        }
        Map<String, HostTensor> out = BottleneckInit.shared(sharing, fresh, warm.weights());
        details.put("bottleneck-shared", sharing == BottleneckSharing.SINGLE ? "all" : sharing.sharesUp() ? "up" : "down");
        log.info("bottleneck sharing {}: continuing {} of the warm start", sharing,
                sharing == BottleneckSharing.SINGLE ? "all" : sharing.sharesUp() ? "the up-projection" : "the down-projection");
        return out;
    }

    private Adapter bottleneckAdapter(BottleneckSpec spec, Map<String, HostTensor> weights, PrototypeHead head, AdapterProvenance provenance) {
        PrototypeHead h = head != null ? head : new PrototypeHead(List.of("-"), new float[][]{new float[base.hiddenSize()]}, HEAD_SCALE);
        return Adapter.of(spec, weights, h, base.id(), base.fingerprint(),
                provenance != null ? provenance : new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
    }

    /**
     * LoRA factors to start from ({@link #loraFactors}); with DoRA also the magnitudes: the warm start's
     * when it is a DoRA adapter with the same factors' shapes, else PEFT's init {@code ‖W + s B A‖} of the
     * starting factors, so the run starts from exactly the model those factors give as plain LoRA.
     */
    private Map<String, HostTensor> initialLora(TrainingRequest r) {
        Map<String, HostTensor> factors = loraFactors(r);
        if (!r.lora().dora()) return factors;
        Map<String, HostTensor> out = new TreeMap<>(factors);
        Adapter warm = r.warmStartOrNull();
        Map<String, HostTensor> computed = base.doraMagnitudes(r.lora(), factors);
        boolean warmMagnitudes = warm != null && warm.spec() != null && warm.spec().dora() && computed.keySet().stream()
                .allMatch(k -> warm.weights().containsKey(k) && Arrays.equals(warm.weights().get(k).shape(), computed.get(k).shape()))
                && factors.entrySet().stream().allMatch(e -> warm.weights().get(e.getKey()) == e.getValue());
        out.putAll(warmMagnitudes ? computed.keySet().stream().collect(java.util.stream.Collectors.toMap(k -> k, warm.weights()::get)) : computed);
        return out;
    }

    /** The warm start's factors when its rank and targets match (and it belongs to this base), else a fresh seeded init. */
    private Map<String, HostTensor> loraFactors(TrainingRequest r) {
        Map<String, HostTensor> warm = warmFactorsOrNull(r);
        if (warm != null) {
            log.info("warm-starting LoRA factors from the given adapter");
            return warm;
        }
        if (r.warmStartOrNull() != null) log.info("warm-start adapter does not match (base, rank, targets or shapes); starting from a fresh init");
        return LoraInit.initialWeights(r.lora(), base.layers(), base.hiddenSize(), base.intermediateSize(), r.training().seed());
    }

    /** The warm start's LoRA factors when its base, rank, targets and shapes match this run's, else {@code null}. */
    private Map<String, HostTensor> warmFactorsOrNull(TrainingRequest r) {
        LoraSpec spec = r.lora();
        Adapter warm = r.warmStartOrNull();
        if (warm != null) {
            boolean sameBase = warm.baseFingerprint() == null || warm.baseFingerprint().equals(base.fingerprint());
            boolean sameShape = warm.spec() != null && warm.spec().rank() == spec.rank()
                    && warm.spec().targetModules().size() == spec.targetModules().size()
                    && warm.spec().targetModules().containsAll(spec.targetModules());
            if (sameBase && sameShape) {
                Map<String, HostTensor> fresh = LoraInit.initialWeights(spec, base.layers(), base.hiddenSize(), base.intermediateSize(), r.training().seed());
                Map<String, HostTensor> out = new TreeMap<>();
                boolean complete = true;
                for (Map.Entry<String, HostTensor> e : fresh.entrySet()) {
                    HostTensor w = warm.weights().get(e.getKey());
                    if (w == null || !Arrays.equals(w.shape(), e.getValue().shape())) {
                        complete = false;
                        break;
                    }
                    out.put(e.getKey(), w);
                }
                if (complete) return out;
            }
        }
        return null;
    }

    /** Class means of the embeddings (rows not normalised); a seeded random vector for a class without examples. */
    static HostTensor classMeans(float[][] emb, int[] y, int classes, long seed) {
        int hidden = emb[0].length;
        float[] sums = new float[classes * hidden];
        int[] counts = new int[classes];
        for (int i = 0; i < emb.length; i++) {
            counts[y[i]]++;
            for (int j = 0; j < hidden; j++) sums[y[i] * hidden + j] += emb[i][j];
        }
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int c = 0; c < classes; c++) {
            if (counts[c] == 0) {
                for (int j = 0; j < hidden; j++) sums[c * hidden + j] = (float) random.nextGaussian();
            }
        }
        return new HostTensor(new long[]{classes, hidden}, sums);
    }

    static HostTensor normalisedFlat(HostTensor t) {
        float[][] rows = t.normalisedRows();
        int hidden = (int) t.shape()[1];
        float[] flat = new float[rows.length * hidden];
        for (int c = 0; c < rows.length; c++) System.arraycopy(rows[c], 0, flat, c * hidden, hidden);
        return new HostTensor(t.shape(), flat);
    }

    /** The factors a step uses: the trained ones, behind the frozen MoRA experts when there are any. */
    private static java.util.function.Supplier<LoraArrays> loraArrays(NDManager mgr, LoraSpec spec, NDArray[][] a, NDArray[][] b,
                                                                      Map<String, HostTensor> frozen, RankGate gate) {
        if (frozen.isEmpty()) {
            LoraArrays fixed = new LoraArrays(spec, a, b, gate);
            return () -> fixed;
        }
        int layers = a.length, targets = spec.targetModules().size();
        NDArray[][] fa = new NDArray[layers][targets], fb = new NDArray[layers][targets];
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < targets; t++) {
                HostTensor ha = frozen.get(LoraSpec.peftKey(l, spec.targetModules().get(t), 'A'));
                HostTensor hb = frozen.get(LoraSpec.peftKey(l, spec.targetModules().get(t), 'B'));
                fa[l][t] = mgr.create(ha.data(), new Shape(ha.shape()));
                fb[l][t] = mgr.create(hb.data(), new Shape(hb.shape()));
                NDScope.unregister(fa[l][t], fb[l][t]);
            }
        }
        LoraSpec full = new LoraSpec(spec.rank() + (int) fa[0][0].getShape().get(0), spec.alpha(), spec.dropout(), spec.targetModules());
        // Rebuilt inside every step's scope: the joined arrays are part of the step's graph (gradients reach
        // only the new experts, the frozen ones are constants).
        return () -> {
            NDArray[][] ja = new NDArray[layers][targets], jb = new NDArray[layers][targets];
            for (int l = 0; l < layers; l++) {
                for (int t = 0; t < targets; t++) {
                    ja[l][t] = fa[l][t].concat(a[l][t], 0);
                    jb[l][t] = fb[l][t].concat(b[l][t], 1);
                }
            }
            return new LoraArrays(full, ja, jb, gate);
        };
    }

    /** The experts of a MoRA warm start with this run's targets (empty for LoRA runs or without a MoRA warm start). */
    private Map<String, HostTensor> frozenExperts(TrainingRequest r) {
        Adapter warm = r.warmStartOrNull();
        if (r.gateOrNull() == null || warm == null) return Map.of();
        if (warm.gate() == null) throw new IllegalArgumentException("a MoRA run continues from a MoRA adapter, not " + warm.kind());
        if (!warm.spec().targetModules().equals(r.lora().targetModules())) {
            throw new IllegalArgumentException("MoRA warm start targets " + warm.spec().targetModules() + ", this run " + r.lora().targetModules());
        }
        if (warm.baseFingerprint() != null && !warm.baseFingerprint().equals(base.fingerprint())) {
            throw new IllegalArgumentException("MoRA warm start belongs to another base model");
        }
        return warm.weights();
    }

    private static int frozenRank(Map<String, HostTensor> frozen, LoraSpec spec) {
        if (frozen.isEmpty()) return 0;
        return (int) frozen.get(LoraSpec.peftKey(0, spec.targetModules().get(0), 'A')).shape()[0];
    }

    /** A MoRA adapter whose experts are the frozen ones followed by {@code trained} (A rows, B columns). */
    private Adapter moraAdapter(LoraSpec spec, Map<String, HostTensor> frozen, Map<String, HostTensor> trained, RankGate gate,
                                PrototypeHead head) {
        Map<String, HostTensor> joined = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : trained.entrySet()) {
            HostTensor old = frozen.get(e.getKey());
            joined.put(e.getKey(), old == null ? e.getValue() : e.getKey().endsWith("lora_A.weight")
                    ? HostTensor.concatRows(old, e.getValue()) : HostTensor.concatColumns(old, e.getValue()));
        }
        LoraSpec full = new LoraSpec(spec.rank() + frozenRank(frozen, spec), spec.alpha(), spec.dropout(), spec.targetModules());
        PrototypeHead h = head != null ? head : new PrototypeHead(List.of("-"), new float[][]{new float[base.hiddenSize()]}, HEAD_SCALE);
        return Adapter.mora(full, joined, gate, h, base.id(), base.fingerprint(), new AdapterProvenance(AdapterProvenance.TRAINED, Map.of()));
    }

    /** One anchored factor: {@code value ← keep·value + target}, with {@code keep = 1 − m} and {@code target = m·anchor} (run-lived). */
    private record AnchorPull(NDArray value, NDArray target, float keep) {
    }

    private static List<AnchorPull> anchors(NDManager mgr, ParameterAnchor anchor, List<Param> params, Param head) {
        List<AnchorPull> out = new ArrayList<>();
        if (anchor == null || anchor.momentum() == 0f) return out;
        for (Param p : params) {
            HostTensor a = p == head ? null : anchor.weights().get(p.key());
            if (a == null) continue;
            if (!Arrays.equals(a.shape(), p.value().getShape().getShape())) {
                throw new IllegalArgumentException("anchor '" + p.key() + "' has shape " + Arrays.toString(a.shape()) + ", the trained factor " + p.value().getShape());
            }
            float[] scaled = a.data().clone();
            for (int i = 0; i < scaled.length; i++) scaled[i] *= anchor.momentum();
            NDArray target = mgr.create(scaled, p.value().getShape());
            NDScope.unregister(target);
            out.add(new AnchorPull(p.value(), target, 1f - anchor.momentum()));
        }
        return out;
    }

    /** A parameter from {@code start[key]}, with AdamW moments from {@code start["adamw.m."+key]} etc. or zeros. */
    private Param newParam(NDManager mgr, String key, Map<String, HostTensor> start, float decay) {
        HostTensor init = start.get(key);
        if (init == null) throw new IllegalStateException("no initial value for " + key);
        return AdamW.param(mgr, key, init, start.get("adamw.m." + key), start.get("adamw.v." + key), decay);
    }

    private static byte[] checkpointBytes(List<Param> params, int step, String signature, double epochLossSum, int epochLossCount,
                                          EarlyStopping early) {
        Map<String, HostTensor> tensors = new TreeMap<>();
        for (Param p : params) {
            tensors.put(p.key(), HostTensor.of(p.value()));
            tensors.put("adamw.m." + p.key(), HostTensor.of(p.m()));
            tensors.put("adamw.v." + p.key(), HostTensor.of(p.v()));
        }
        Map<String, String> meta = new TreeMap<>();
        meta.put("format", CHECKPOINT_FORMAT);
        meta.put("step", Integer.toString(step));
        meta.put("run-signature", signature);
        meta.put("epoch-loss-sum", Double.toString(epochLossSum));
        meta.put("epoch-loss-count", Integer.toString(epochLossCount));
        early.save(tensors, meta);
        return Safetensors.write(tensors, meta);
    }

    private static Optional<Safetensors.SafetensorsFile> loadCheckpoint(CheckpointStore store, String signature, int totalSteps) {
        if (store == null) return Optional.empty();
        Optional<byte[]> bytes = store.load();
        if (bytes.isEmpty()) return Optional.empty();
        try {
            Safetensors.SafetensorsFile file = Safetensors.read(bytes.get());
            Map<String, String> meta = file.metadata();
            if (!CHECKPOINT_FORMAT.equals(meta.get("format")) || !signature.equals(meta.get("run-signature"))) {
                log.warn("ignoring a checkpoint from a different training run");
                return Optional.empty();
            }
            int step = Integer.parseInt(meta.get("step"));
            if (step < 0 || step > totalSteps) {
                log.warn("ignoring a checkpoint at step {} of a {}-step run", step, totalSteps);
                return Optional.empty();
            }
            return Optional.of(file);
        } catch (RuntimeException e) {
            log.warn("ignoring an unreadable checkpoint: {}", e.toString());
            return Optional.empty();
        }
    }

    /** Hash of everything that determines the run's trajectory, so a checkpoint only resumes its own run. */
    private String signature(TrainingRequest r, Map<String, HostTensor> initial, Map<String, HostTensor> frozen) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            update(d, base.fingerprint());
            update(d, String.valueOf(r.lora()));
            if (r.ia3() != null) update(d, "ia3 " + r.ia3());
            if (r.lokr() != null) update(d, "lokr " + r.lokr());
            if (r.soka() != null) update(d, "soka " + r.soka());
            if (r.bottleneck() != null) update(d, "bottleneck " + r.bottleneck() + " sharing " + r.bottleneckSharing());
            if (r.prompt() != null) update(d, "prompt " + r.prompt());
            update(d, r.training().withCheckpointEvery(0).toString());
            for (String label : r.labels()) update(d, label);
            for (LabeledText t : r.train()) {
                update(d, t.text());
                update(d, t.label());
            }
            if (r.anchorOrNull() != null) {
                update(d, "anchor " + r.anchorOrNull().momentum());
                for (Map.Entry<String, HostTensor> e : r.anchorOrNull().weights().entrySet()) {
                    update(d, e.getKey());
                    ByteBuffer buf = ByteBuffer.allocate(4 * e.getValue().data().length);
                    buf.asFloatBuffer().put(e.getValue().data());
                    d.update(buf);
                }
            }
            if (r.gateOrNull() != null) update(d, "gate " + r.gateOrNull());
            for (Map.Entry<String, HostTensor> e : new TreeMap<>(frozen).entrySet()) {
                update(d, "frozen " + e.getKey());
                ByteBuffer buf = ByteBuffer.allocate(4 * e.getValue().data().length);
                buf.asFloatBuffer().put(e.getValue().data());
                d.update(buf);
            }
            for (Map.Entry<String, HostTensor> e : initial.entrySet()) {
                update(d, e.getKey());
                ByteBuffer buf = ByteBuffer.allocate(4 * e.getValue().data().length);
                buf.asFloatBuffer().put(e.getValue().data());
                d.update(buf);
            }
            return HexFormat.of().formatHex(d.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void update(MessageDigest d, String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        d.update(ByteBuffer.allocate(4).putInt(bytes.length).array());
        d.update(bytes);
    }
}

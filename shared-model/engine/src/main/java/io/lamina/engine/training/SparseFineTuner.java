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
import io.lamina.engine.adapter.BertModules;
import io.lamina.engine.adapter.sft.SparseDiff;
import io.lamina.engine.adapter.sft.Sft;
import io.lamina.engine.adapter.sft.SftSpec;
import io.lamina.engine.continual.TaskDescriptor;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.AdamW.Param;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Lottery-ticket sparse fine-tuning (LT-SFT; composable-sft's {@code LotteryTicketSparseFineTuner}, one iteration)
 * of the maskable linears of a frozen {@link BaseModel}, with the cosine {@link PrototypeHead} of {@link LoraTrainer}:
 * <ol>
 *   <li>full phase: dense diffs {@code Δ} (from 0) of every maskable weight train with the head, the model being
 *       {@code W + Δ};</li>
 *   <li>the {@code K} entries with the largest {@code |Δ|} over all maskable weights (one global threshold,
 *       {@link Sft#topK}) are selected;</li>
 *   <li>rewind: {@code Δ} and the head go back to their initial values (the lottery ticket);</li>
 *   <li>sparse phase: the model is {@code W + Δ ⊙ mask}, so the gradient of every unselected entry is exactly 0;
 *       with weight decay 0 and fresh AdamW moments its update is exactly 0 and its {@code Δ} stays 0;</li>
 *   <li>the result {@code φ = Δ ⊙ [|Δ| > 1e-7]} is stored sparse ({@link Sft#weights}), with the trained head.</li>
 * </ol>
 * Each phase has its own AdamW (re-created, as composable-sft re-creates optimiser and scheduler per phase) and its
 * own warm-up/cosine schedule over its steps, batches from {@link LoraTrainer#epochBatches} (epoch {@code e} of a
 * phase shuffles with {@code seed + e}): a run is deterministic for its seed. Weight decay is always 0 on the diffs
 * (decoupled decay would move masked entries; METHODS' porting caveat) and on the head (scale-invariant): the
 * training spec's {@code weightDecay} is not used. Design notes: {@code docs/sparse-fine-tuning.md}.
 * {@code λ · Σ|Δ| / N} ({@link SftSpec#l1Reg}, {@code N} the maskable entries) is added once per optimiser step.
 *
 * <p>Under {@link Request#appliedSfts} (e.g. a language SFT, composable-sft's cross-lingual protocol) the run trains
 * on {@code W + Σ φ_applied}; the result holds the new diff only and composes with them by {@link Sft#compose}.
 * Not supported (refused): validation split and early stopping. No checkpoints: a retried job starts again.
 */
public final class SparseFineTuner {
    private static final Logger log = LoggerFactory.getLogger(SparseFineTuner.class);
    private static final Object STEP_LOCK = new Object();

    private final BaseModel base;

    public SparseFineTuner(BaseModel base) {
        this.base = base;
    }

    /**
     * One SFT job.
     *
     * @param appliedSfts SFT adapters of this base the run trains on top of (empty: the base model)
     */
    public record Request(List<LabeledText> train, List<String> labels, SftSpec sft, TrainingSpec training, List<Adapter> appliedSfts,
                          ProgressListener listener, Map<String, String> provenanceDetails) {
        public Request {
            if (train == null || train.isEmpty()) throw new IllegalArgumentException("training needs at least one example");
            if (labels == null || labels.isEmpty()) throw new IllegalArgumentException("training needs at least one label");
            if (sft == null) throw new IllegalArgumentException("an SFT spec is required");
            if (training == null) throw new IllegalArgumentException("a training spec is required");
            if (training.validationFraction() > 0) {
                throw new IllegalArgumentException("SFT runs keep no validation split (the full phase's selection would see a different data set than the sparse phase's best epoch)");
            }
            train = List.copyOf(train);
            labels = List.copyOf(labels);
            if (new HashSet<>(labels).size() != labels.size()) throw new IllegalArgumentException("labels must be distinct: " + labels);
            for (LabeledText t : train) {
                if (t == null || t.text() == null) throw new IllegalArgumentException("examples need a text");
                if (!labels.contains(t.label())) throw new IllegalArgumentException("example label '" + t.label() + "' is not among " + labels);
            }
            appliedSfts = appliedSfts == null ? List.of() : List.copyOf(appliedSfts);
            for (Adapter a : appliedSfts) {
                if (a.kind() != AdapterKind.SFT) throw new IllegalArgumentException("only SFT adapters can be applied under an SFT run, got " + a.kind());
            }
            if (listener == null) listener = ProgressListener.NONE;
            provenanceDetails = provenanceDetails == null ? Map.of() : Map.copyOf(provenanceDetails);
        }

        public Request(List<LabeledText> train, List<String> labels, SftSpec sft, TrainingSpec training) {
            this(train, labels, sft, training, List.of(), null, null);
        }
    }

    /**
     * A finished run with what its phases produced (for tests and diagnostics).
     *
     * @param fullDiffs   {@code Δ} after the full phase, dense, by {@link Sft#key}
     * @param selected    the positions chosen for the sparse phase, per key, ascending
     * @param sparseDiffs {@code Δ} after the sparse phase, dense (zero off the selection)
     * @param budget      {@code K}
     */
    public record Run(Adapter adapter, SortedMap<String, HostTensor> fullDiffs, SortedMap<String, int[]> selected,
                      SortedMap<String, HostTensor> sparseDiffs, long budget, float fullPhaseLoss, float sparsePhaseLoss) {
    }

    public Adapter train(Request r) {
        return run(r).adapter();
    }

    /** Runs both phases and returns the adapter with the phases' diffs and selection. */
    public Run run(Request r) {
        TrainingSpec ts = r.training();
        SftSpec spec = r.sft();
        int classes = r.labels().size();
        int hidden = base.hiddenSize(), intermediate = base.intermediateSize(), layers = base.layers();
        Map<String, Integer> labelIndex = new HashMap<>();
        for (int c = 0; c < classes; c++) labelIndex.put(r.labels().get(c), c);
        int n = r.train().size();
        List<String> texts = new ArrayList<>(n);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            texts.add(r.train().get(i).text());
            y[i] = labelIndex.get(r.train().get(i).label());
        }
        List<long[]> ids = base.tokenize(texts, ts.maxLength());

        // maskable weights, in key order (the order of the global top-k's ties)
        SortedMap<String, long[]> shapes = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String m : spec.targetModules()) {
                shapes.put(Sft.key(l, m), new long[]{BertModules.outFeatures(m, hidden, intermediate), BertModules.inFeatures(m, hidden, intermediate)});
            }
        }
        long maskable = spec.maskableEntries(layers, hidden, intermediate);
        long budget = spec.budget(maskable);
        int stepsPerEpoch = (n + ts.effectiveBatchSize() - 1) / ts.effectiveBatchSize();
        int fullEpochs = spec.fullEpochs(ts.epochs()), sparseEpochs = spec.sparseEpochs(ts.epochs());
        int fullSteps = fullEpochs * stepsPerEpoch, sparseSteps = sparseEpochs * stepsPerEpoch;

        Adapter applied = r.appliedSfts().isEmpty() ? null : Sft.compose(r.appliedSfts(), r.appliedSfts().get(0).head());
        if (applied != null && !base.fingerprint().equals(applied.baseFingerprint())) {
            throw new IllegalArgumentException("the applied SFTs belong to base " + applied.baseFingerprint() + ", not " + base.fingerprint());
        }
        float[][] baseEmbeddings = base.embedTokens(ids, null, null);
        float[][] basePrototypes = LoraTrainer.classMeans(baseEmbeddings, y, classes, ts.seed()).normalisedRows();
        float[][] startEmbeddings = applied == null ? baseEmbeddings : base.embedTokens(ids, applied);
        HostTensor initialHead = LoraTrainer.normalisedFlat(LoraTrainer.classMeans(startEmbeddings, y, classes, ts.seed()));
        log.info("LT-SFT on {} ({} maskable entries, K = {}) on {} examples, {} classes: {} full + {} sparse steps on {}",
                spec.targetModules(), maskable, budget, n, classes, fullSteps, sparseSteps, base.device());

        try (NDManager mgr = base.manager().newSubManager()) {
            mgr.setName("sft-trainer");
            Map<String, NDArray> under = new HashMap<>();
            if (applied != null) {
                for (Map.Entry<String, SparseDiff> e : Sft.diffs(applied).entrySet()) {
                    if (e.getValue().nnz() == 0) continue;
                    NDArray d = mgr.create(e.getValue().toDense(), new Shape(e.getValue().rows(), e.getValue().cols()));
                    NDScope.unregister(d);
                    under.put(e.getKey(), d);
                }
            }
            // phase 1: full fine-tuning of every maskable entry
            Phase full = new Phase(mgr, shapes, null, initialHead, spec.diffLearningRateFactor());
            float fullLoss = runPhase(r, full, ids, y, classes, under, maskable, 0, fullSteps, fullSteps + sparseSteps, "full");
            SortedMap<String, float[]> fullDiffs = full.diffs();
            full.close();
            // the k most changed entries, one threshold over all maskable weights
            SortedMap<String, int[]> selected = Sft.topK(fullDiffs, budget);
            // rewind (lottery ticket) and phase 2: only the selected entries change
            Phase sparse = new Phase(mgr, shapes, selected, initialHead, spec.diffLearningRateFactor());
            float sparseLoss = runPhase(r, sparse, ids, y, classes, under, maskable, fullSteps, sparseSteps, fullSteps + sparseSteps, "sparse");
            SortedMap<String, float[]> sparseDiffs = sparse.diffs();
            HostTensor head = HostTensor.of(sparse.head.value());
            sparse.close();

            SortedMap<String, SparseDiff> phi = new TreeMap<>();
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                int rows = (int) e.getValue()[0], cols = (int) e.getValue()[1];
                float[] d = sparseDiffs.get(e.getKey());
                phi.put(e.getKey(), d == null ? SparseDiff.empty(rows, cols) : SparseDiff.ofDense(d, rows, cols, SftSpec.STORE_THRESHOLD));
            }
            long nnz = Sft.nnz(phi);
            PrototypeHead trainedHead = new PrototypeHead(r.labels(), head.normalisedRows(), LoraTrainer.HEAD_SCALE, basePrototypes);
            Map<String, String> details = new LinkedHashMap<>(r.provenanceDetails());
            details.put("seed", Long.toString(ts.seed()));
            details.put("steps", Integer.toString(fullSteps + sparseSteps));
            details.put("full-ft-steps", Integer.toString(fullSteps));
            details.put("sparse-ft-steps", Integer.toString(sparseSteps));
            details.put("epochs", Integer.toString(fullEpochs + sparseEpochs));
            details.put("train-examples", Integer.toString(n));
            details.put("maskable-entries", Long.toString(maskable));
            details.put("budget", Long.toString(budget));
            details.put("nnz", Long.toString(nnz));
            if (spec.l1Reg() > 0) details.put("l1-reg", Float.toString(spec.l1Reg()));
            if (!r.appliedSfts().isEmpty()) details.put("trained-on-sfts", Integer.toString(r.appliedSfts().size()));
            details.put("full-ft-final-loss", Float.toString(fullLoss));
            details.put("final-loss", Float.toString(sparseLoss));
            details.put("lr", Float.toString(ts.learningRate()));
            details.put("diff-lr", Float.toString(ts.learningRate() * spec.diffLearningRateFactor()));
            details.put("device", base.device());
            Adapter adapter = Adapter.of(spec, Sft.weights(phi), trainedHead, base.id(), base.fingerprint(),
                    new AdapterProvenance(AdapterProvenance.TRAINED, details));
            if (n >= 4) adapter = adapter.withDescriptor(TaskDescriptor.fit(baseEmbeddings, TaskDescriptor.DEFAULT_COMPONENTS));
            log.info("LT-SFT done: nnz {} of K = {}, full-phase loss {}, sparse-phase loss {}", nnz, budget, fullLoss, sparseLoss);
            return new Run(adapter, hostTensors(fullDiffs, shapes), selected, hostTensors(sparseDiffs, shapes), budget, fullLoss, sparseLoss);
        }
    }

    private static SortedMap<String, HostTensor> hostTensors(Map<String, float[]> dense, Map<String, long[]> shapes) {
        SortedMap<String, HostTensor> out = new TreeMap<>();
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            float[] d = dense.get(e.getKey());
            out.put(e.getKey(), d == null ? HostTensor.zeros(e.getValue()) : new HostTensor(e.getValue(), d));
        }
        return out;
    }

    /**
     * One phase's trainables: a diff per maskable weight (all of them in the full phase; in the sparse phase only those
     * with a selected entry, each with its 0/1 mask) and the head, all from their initial values, with zero moments.
     */
    private static final class Phase implements AutoCloseable {
        final List<Param> params = new ArrayList<>();
        final Map<String, Param> diffs = new TreeMap<>();
        final Map<String, NDArray> masks = new HashMap<>();
        final Param head;
        final long trainableEntries;

        Phase(NDManager mgr, SortedMap<String, long[]> shapes, SortedMap<String, int[]> selectedOrNull, HostTensor initialHead, float diffLr) {
            long entries = 0;
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                int[] picked = selectedOrNull == null ? null : selectedOrNull.get(e.getKey());
                if (selectedOrNull != null && (picked == null || picked.length == 0)) continue;
                Param p = AdamW.param(mgr, e.getKey(), HostTensor.zeros(e.getValue()), null, null, 0f);
                p = new Param(p.key(), p.value(), p.m(), p.v(), 0f, diffLr);
                params.add(p);
                diffs.put(e.getKey(), p);
                if (picked != null) {
                    float[] mask = new float[(int) (e.getValue()[0] * e.getValue()[1])];
                    for (int i : picked) mask[i] = 1f;
                    NDArray m = mgr.create(mask, new Shape(e.getValue()));
                    NDScope.unregister(m);
                    masks.put(e.getKey(), m);
                    entries += picked.length;
                } else {
                    entries += e.getValue()[0] * e.getValue()[1];
                }
            }
            trainableEntries = entries;
            head = AdamW.param(mgr, LoraTrainer.HEAD_KEY, initialHead, null, null, 0f);
            params.add(head);
        }

        SortedMap<String, float[]> diffs() {
            SortedMap<String, float[]> out = new TreeMap<>();
            for (Map.Entry<String, Param> e : diffs.entrySet()) out.put(e.getKey(), e.getValue().value().toFloatArray());
            return out;
        }

        @Override
        public void close() {
            for (Param p : params) {
                p.value().close();
                p.m().close();
                p.v().close();
            }
            for (NDArray m : masks.values()) m.close();
        }
    }

    /** Runs {@code steps} optimiser steps of one phase; returns the mean batch loss of its last epoch. */
    private float runPhase(Request r, Phase phase, List<long[]> ids, int[] y, int classes, Map<String, NDArray> under, long maskable,
                           int stepOffset, int steps, int totalSteps, String name) {
        TrainingSpec ts = r.training();
        int stepsPerEpoch = (ids.size() + ts.effectiveBatchSize() - 1) / ts.effectiveBatchSize();
        int warmup = (int) Math.ceil(ts.warmupRatio() * steps);
        int[][] batches = null;
        int cachedEpoch = -1;
        double epochSum = 0;
        int epochCount = 0;
        float last = Float.NaN;
        for (int step = 0; step < steps; step++) {
            int epoch = step / stepsPerEpoch;
            if (epoch != cachedEpoch) {
                batches = LoraTrainer.epochBatches(ids, ts.seed(), epoch, ts.effectiveBatchSize());
                cachedEpoch = epoch;
                epochSum = 0;
                epochCount = 0;
            }
            int[] batch = batches[step % stepsPerEpoch];
            float lr = LoraTrainer.learningRate(step, steps, warmup, ts.learningRate());
            long t0 = System.nanoTime();
            float loss;
            synchronized (STEP_LOCK) {
                synchronized (Autograd.STEP_LOCK) {
                    loss = step(phase, ids, y, classes, batch, under, maskable, step, lr, ts, r.sft().l1Reg());
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            if (!Float.isFinite(loss)) throw new IllegalStateException("SFT " + name + " phase diverged: loss " + loss + " at step " + step);
            epochSum += loss;
            epochCount++;
            last = (float) (epochSum / epochCount);
            r.listener().onProgress(new TrainingProgress(stepOffset + step + 1, totalSteps, epoch, loss, (float) (batch.length / seconds)));
        }
        log.info("SFT {} phase: {} steps, last epoch's loss {}", name, steps, last);
        return last;
    }

    /** One forward/backward over the step's micro-batches, then the AdamW update (the L1 term joins the first micro-batch). */
    private float step(Phase phase, List<long[]> ids, int[] y, int classes, int[] batch, Map<String, NDArray> under, long maskable,
                       int step, float lr, TrainingSpec ts, float l1) {
        float lossValue = 0f;
        int micro = 0;
        for (int from = 0; from < batch.length; from += ts.batchSize(), micro++) {
            MicroBatch mb = MicroBatch.of(ids, y, batch, from, Math.min(batch.length, from + ts.batchSize()));
            List<long[]> batchIds = mb.ids();
            int[] labels = mb.labels();
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                NDManager mgr = phase.head.value().getManager();
                NDArray loss;
                try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                    Map<String, NDArray> deltas = new HashMap<>(under);
                    NDArray reg = null;
                    for (Map.Entry<String, Param> e : phase.diffs.entrySet()) {
                        NDArray mask = phase.masks.get(e.getKey());
                        NDArray d = mask == null ? e.getValue().value() : e.getValue().value().mul(mask); // exact 0 gradient off the mask
                        if (l1 > 0 && micro == 0) {
                            NDArray a = d.abs().sum();
                            reg = reg == null ? a : reg.add(a);
                        }
                        NDArray u = under.get(e.getKey());
                        deltas.put(e.getKey(), u == null ? d : d.add(u));
                    }
                    NDArray embeddings = base.encode(mgr, batchIds, base.plusDeltas(mgr, deltas), null, true);
                    loss = LoraTrainer.headLoss(mgr, embeddings, phase.head.value(), labels, classes)
                            .mul(Autograd.constant(mgr, labels.length / (float) batch.length));
                    if (reg != null) loss = loss.add(reg.mul(Autograd.constant(mgr, l1 / (float) maskable)));
                    collector.backward(loss);
                }
                lossValue += Autograd.value(loss);
            }
        }
        boolean grad = Autograd.disable();
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            AdamW.update(phase.params, step, lr, ts.maxGradNorm());
            return lossValue;
        } finally {
            Autograd.restore(grad);
        }
    }
}

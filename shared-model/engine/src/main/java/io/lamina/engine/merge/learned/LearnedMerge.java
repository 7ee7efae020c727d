package io.lamina.engine.merge.learned;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.AdamW;
import io.lamina.engine.training.AdamW.Param;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Learned merges of an inventory of LoRA adapters on a few labelled examples (METHODS.md §8–10).
 *
 * <p><b>Why no new forward pass is needed.</b> Source {@code i} changes a wrapped projection at site
 * {@code (layer, module)} by {@code ΔW_i = s_i B_i A_i}. Any combination that scales each source's
 * delta, or each row of each source's output, is again one LoRA with concatenated factors:
 * <pre>
 *   A = [A_1; …; A_n]                                  [Σ r_i, in]
 *   B = [diag(c_1) s_1 B_1, …, diag(c_n) s_n B_n]      [out, Σ r_i],   scaling 1
 * </pre>
 * so {@code B A = Σ_i diag(c_i) s_i B_i A_i}. The coefficients {@code c} are the only arrays that
 * require gradients; B is rebuilt from them inside the gradient collector every step and
 * {@link BaseModel#encode} runs unchanged. The returned adapter is exactly that LoRA (rank
 * {@code Σ r_i}, alpha {@code Σ r_i}), so it stores, loads and serves like any other.
 *
 * <ul>
 *   <li><b>aTLAS</b> ({@value LearnedMergeSpec#ATLAS}): one scalar {@code Λ[i, layer, module]} per
 *       source per LoRA site (a "block" is the site's delta {@code ΔW}, i.e. the A/B pair — one
 *       coefficient per pair keeps the merge linear in the task vectors, where one per PEFT tensor
 *       would scale {@code ΔW} by a product). Default init 0 (the paper's {@code torch.zeros}),
 *       AdamW weight decay 0.1.</li>
 *   <li><b>ScaLearn</b> ({@value LearnedMergeSpec#SCALEARN}): a vector {@code ω[i, layer, module] ∈ R^out}
 *       scales source {@code i}'s output {@code s_i B_i A_i x} at the site, i.e. the rows of {@code B_i}.
 *       {@value LearnedMergeSpec#SCALEARN_UNIFORM}: one scalar per source per site;
 *       {@value LearnedMergeSpec#SCALEARN_SHARED} (ScaLearn++): one vector per source per module kind,
 *       shared by all layers; {@value LearnedMergeSpec#SCALEARN_UNIFORM_SHARED} (ScaLearnUniform++): one
 *       scalar per source per module kind. Default init {@code N(2/n, 0.001)} ("2_avg"), dropout 0.3 on ω
 *       during fitting ("d03", a fresh mask at every site, as each layer's module draws its own) except
 *       for ScaLearnUniform++, whose released config has none ("d00"); no weight decay.</li>
 *   <li><b>MHR-μ</b> ({@value LearnedMergeSpec#MHR_MU}): the average of the sources' deltas (weights 1/n,
 *       concatenated factors, rank Σ r_i), then fine-tuned as an ordinary LoRA with {@link LoraTrainer}
 *       warm-started from it, at the full concatenated rank (no SVD re-factorisation).</li>
 * </ul>
 *
 * <p><b>Fitting</b> (aTLAS, ScaLearn): a cosine prototype head (scale {@value #HEAD_SCALE}) whose
 * prototypes start as the normalised class means of the examples under the initial merge and are
 * trained jointly with the coefficients at {@code min(lr, }{@value #HEAD_MAX_LR}{@code )} (ScaLearn trains a
 * new head jointly; aTLAS's frozen zero-shot CLIP head has no counterpart here). Cross-entropy, AdamW (β 0.9/0.999, eps 1e-8, decoupled decay
 * on the coefficients only), global-norm clipping at 1, cosine learning-rate decay without warm-up
 * (aTLAS's schedule). Full batch up to {@value #MAX_BATCH} examples, else batches of
 * {@value #MAX_BATCH} in an order seeded per epoch. The source LoRA dropout is not applied (the
 * sources are frozen). Runs are deterministic on CPU for a given seed.
 *
 * <p>DJL allows one gradient collector per process: each step holds {@link Autograd#STEP_LOCK}, so
 * fits take turns with each other and with LoRA training in the same JVM.
 */
public final class LearnedMerge {
    /** Cosine-logit scale of the head, the trainer's. */
    public static final float HEAD_SCALE = LoraTrainer.HEAD_SCALE;
    /** ScaLearn's default ω init is {@code N(INIT_SCALE / n, INIT_STD)}. */
    static final double SCALEARN_INIT_SCALE = 2.0;
    static final double SCALEARN_INIT_STD = 1e-3;
    /** ScaLearn's default dropout on ω during training (not for ScaLearnUniform++). */
    static final float SCALEARN_OMEGA_DROPOUT = 0.3f;
    /** aTLAS's AdamW weight decay. */
    static final float ATLAS_WEIGHT_DECAY = 0.1f;
    static final float MAX_GRAD_NORM = 1f;
    /** The head's learning rate is {@code min(spec lr, HEAD_MAX_LR)}. */
    static final float HEAD_MAX_LR = 1e-3f;
    static final int MAX_BATCH = 32;
    /** MHR-μ fine-tuning: warm-up share (its config: 6%), no weight decay on the warm-started factors. */
    static final float MHR_WARMUP = 0.06f;
    private static final Logger log = LoggerFactory.getLogger(LearnedMerge.class);

    private final BaseModel base;

    public LearnedMerge(BaseModel base) {
        if (base == null) throw new IllegalArgumentException("base model is required");
        this.base = base;
    }

    /**
     * The outcome of a fit.
     *
     * @param merged       a plain LORA adapter with provenance {@code merged}
     * @param coefficients the learned (for MHR-μ: averaging) coefficients, in a fixed order:
     *                     aTLAS and ScaLearnUniform {@code "layer.<l>.<module>"} → one value per source;
     *                     ScaLearn {@code "layer.<l>.<module>.source.<i>"} → ω over the output features;
     *                     ScaLearn++ {@code "<module>.source.<i>"} → ω; ScaLearnUniform++ {@code "<module>"} →
     *                     one value per source; MHR-μ {@code "weights"} → one value per source
     * @param lossCurve    the training loss of every optimiser step (empty for 0 steps)
     */
    public record Result(Adapter merged, Map<String, double[]> coefficients, List<Float> lossCurve) {
        public Result {
            Map<String, double[]> copy = new LinkedHashMap<>();
            coefficients.forEach((k, v) -> copy.put(k, v.clone()));
            coefficients = Collections.unmodifiableMap(copy);
            lossCurve = List.copyOf(lossCurve);
        }
    }

    /** How the coefficient tensor is shaped and sliced per site. */
    enum Layout {
        /** {@code [n, layers, modules]}. */
        SITE_SCALAR(false, false),
        /** {@code [n, layers, modules, out]}. */
        SITE_VECTOR(true, false),
        /** {@code [n, modules, out]}. */
        SHARED_VECTOR(true, true),
        /** {@code [n, modules]}. */
        SHARED_SCALAR(false, true);

        final boolean vector;
        final boolean shared;

        Layout(boolean vector, boolean shared) {
            this.vector = vector;
            this.shared = shared;
        }

        static Layout of(String method) {
            return switch (method) {
                case LearnedMergeSpec.ATLAS, LearnedMergeSpec.SCALEARN_UNIFORM -> SITE_SCALAR;
                case LearnedMergeSpec.SCALEARN -> SITE_VECTOR;
                case LearnedMergeSpec.SCALEARN_SHARED -> SHARED_VECTOR;
                case LearnedMergeSpec.SCALEARN_UNIFORM_SHARED, LearnedMergeSpec.MHR_MU -> SHARED_SCALAR;
                default -> throw new IllegalArgumentException("unknown method " + method);
            };
        }

        Shape shape(int n, int layers, int modules, int out) {
            return switch (this) {
                case SITE_SCALAR -> new Shape(n, layers, modules);
                case SITE_VECTOR -> new Shape(n, layers, modules, out);
                case SHARED_VECTOR -> new Shape(n, modules, out);
                case SHARED_SCALAR -> new Shape(n, modules);
            };
        }
    }

    /** The validated inventory: sources, shared targets, per-source ranks and the merged spec. */
    record Inventory(List<Adapter> adapters, List<String> targets, int layers, int hidden, int[] ranks, int totalRank,
                     LoraSpec mergedSpec) {
        int size() { return adapters.size(); }
    }

    /** The examples as token ids and class indices. */
    private record Examples(List<long[]> ids, int[] y, int classes) {
    }

    /** A trainable tensor with its AdamW moments. */

    /**
     * Learns a merge of {@code sources} on {@code examples}.
     *
     * @param sources  LORA adapters of this base model with the same target modules, on every layer
     * @param examples labelled texts (at least one); every label must be in {@code labels}
     * @param labels   the merged adapter's head classes, in head order (distinct)
     */
    public Result fit(List<Adapter> sources, List<LabeledText> examples, List<String> labels, LearnedMergeSpec spec) {
        if (spec == null) throw new IllegalArgumentException("a LearnedMergeSpec is required");
        Inventory inv = inventory(sources);
        if (spec.initialCoefficients() != null && spec.initialCoefficients().size() != inv.size()) {
            throw new IllegalArgumentException("initialCoefficients has " + spec.initialCoefficients().size() + " values but there are "
                    + inv.size() + " source adapters: give one value per source");
        }
        checkExamples(examples, labels);
        if (spec.learnsCoefficients()) return fitCoefficients(inv, examples, labels, spec);
        return fitMhrMu(inv, examples, labels, spec);
    }

    // ------------------------------------------------------------------ validation

    Inventory inventory(List<Adapter> sources) {
        if (sources == null || sources.isEmpty()) throw new IllegalArgumentException("a learned merge needs at least one source adapter");
        int layers = base.layers();
        int hidden = base.hiddenSize();
        Adapter first = null;
        int[] ranks = new int[sources.size()];
        int total = 0;
        float maxDropout = 0f;
        for (int i = 0; i < sources.size(); i++) {
            Adapter a = sources.get(i);
            if (a == null) throw new IllegalArgumentException("source adapter " + i + " is null");
            if (a.kind() != AdapterKind.LORA || a.spec() == null) {
                throw new IllegalArgumentException("source adapter " + i + " is " + a.kind() + ", learned merges combine LORA adapters");
            }
            if (!a.isStackableLora()) {
                try {
                    a.requireStackableLora("a learned merge");
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("source adapter " + i + ": " + e.getMessage(), e);
                }
            }
            if (a.baseFingerprint() != null && !a.baseFingerprint().equals(base.fingerprint())) {
                throw new IllegalArgumentException("source adapter " + i + " was made for base " + a.baseFingerprint() + ", not " + base.fingerprint());
            }
            if (first == null) {
                first = a;
            } else if (!new HashSet<>(a.spec().targetModules()).equals(new HashSet<>(first.spec().targetModules()))) {
                throw new IllegalArgumentException("source adapter " + i + " targets " + a.spec().targetModules() + " but source adapter 0 targets "
                        + first.spec().targetModules() + ": target modules must match");
            }
            int r = a.spec().rank();
            for (int l = 0; l < layers; l++) {
                for (String module : a.spec().targetModules()) {
                    checkFactor(a, i, l, module, 'A', r, hidden);
                    checkFactor(a, i, l, module, 'B', hidden, r);
                }
            }
            ranks[i] = r;
            total += r;
            maxDropout = Math.max(maxDropout, a.spec().dropout());
        }
        if (total > 256) throw new IllegalArgumentException("merged rank " + total + " (sum of the source ranks) exceeds the LoRA maximum of 256");
        List<String> targets = first.spec().targetModules();
        LoraSpec merged = new LoraSpec(total, total, maxDropout, targets);
        return new Inventory(List.copyOf(sources), targets, layers, hidden, ranks, total, merged);
    }

    private static void checkFactor(Adapter a, int index, int layer, String module, char factor, int rows, int cols) {
        String key = LoraSpec.peftKey(layer, module, factor);
        HostTensor t = a.weights().get(key);
        if (t == null) throw new IllegalArgumentException("source adapter " + index + " lacks lora_" + factor + " at layer " + layer + " " + module);
        if (t.shape().length != 2 || t.shape()[0] != rows || t.shape()[1] != cols) {
            throw new IllegalArgumentException("source adapter " + index + " lora_" + factor + " at layer " + layer + " " + module + " has shape "
                    + Arrays.toString(t.shape()) + ", expected [" + rows + ", " + cols + "]");
        }
    }

    private static void checkExamples(List<LabeledText> examples, List<String> labels) {
        if (examples == null || examples.isEmpty()) throw new IllegalArgumentException("a learned merge needs at least one labelled example");
        if (labels == null || labels.isEmpty()) throw new IllegalArgumentException("a learned merge needs at least one label");
        if (new HashSet<>(labels).size() != labels.size()) throw new IllegalArgumentException("labels must be distinct: " + labels);
        for (int i = 0; i < examples.size(); i++) {
            LabeledText t = examples.get(i);
            if (t == null || t.text() == null) throw new IllegalArgumentException("example " + i + " needs a text");
            if (!labels.contains(t.label())) throw new IllegalArgumentException("example " + i + " has label '" + t.label() + "', not among " + labels);
        }
    }

    private Examples examples(List<LabeledText> examples, List<String> labels, int maxLength) {
        Map<String, Integer> index = new HashMap<>();
        for (int c = 0; c < labels.size(); c++) index.put(labels.get(c), c);
        List<String> texts = new ArrayList<>(examples.size());
        int[] y = new int[examples.size()];
        for (int i = 0; i < y.length; i++) {
            texts.add(examples.get(i).text());
            y[i] = index.get(examples.get(i).label());
        }
        return new Examples(base.tokenize(texts, maxLength), y, labels.size());
    }

    // ------------------------------------------------------------------ aTLAS and ScaLearn

    private Result fitCoefficients(Inventory inv, List<LabeledText> data, List<String> labels, LearnedMergeSpec spec) {
        Layout layout = Layout.of(spec.method());
        boolean scalearn = !LearnedMergeSpec.ATLAS.equals(spec.method());
        // The released configs: scalearn/scalearnUniform/scalearnPP_2_avg_d03, scalearnUniformPP_2_avg_d00.
        float omegaDropout = scalearn && !LearnedMergeSpec.SCALEARN_UNIFORM_SHARED.equals(spec.method()) ? SCALEARN_OMEGA_DROPOUT : 0f;
        float decay = scalearn ? 0f : ATLAS_WEIGHT_DECAY;
        Examples ex = examples(data, labels, spec.maxLength());
        int n = inv.size();
        int steps = spec.steps();

        try (NDManager mgr = base.manager().newSubManager()) {
            mgr.setName("learned-merge");
            Factors factors = new Factors(mgr, inv);
            Shape shape = layout.shape(n, inv.layers(), inv.targets().size(), inv.hidden());
            float[] init = initialCoefficients(spec, layout, shape, n);
            Param coef = newParam(mgr, init, shape, decay, 1f);

            Map<String, HostTensor> initialWeights = factors.materialise(coef.value(), layout);
            HostTensor prototypes = classMeans(ex, inv.mergedSpec(), initialWeights, spec.seed());
            // The head's prototypes are unit vectors of small entries: an Adam step of the coefficients' size
            // (aTLAS uses 0.1) would wreck them, so the head's rate is capped at the trainer's default.
            float headFactor = Math.min(1f, HEAD_MAX_LR / spec.learningRate());
            Param head = newParam(mgr, prototypes.data(), new Shape(prototypes.shape()), 0f, headFactor);
            List<Param> params = List.of(coef, head);
            LoraSpec graphSpec = new LoraSpec(inv.totalRank(), inv.totalRank(), 0f, inv.targets());

            log.info("learned merge {} of {} adapters on {} examples: {} coefficients, {} steps on {}", spec.method(), n, ex.ids().size(),
                    shape.size(), steps, base.device());
            List<Float> losses = new ArrayList<>(steps);
            int[][] batches = null;
            int cachedEpoch = -1;
            int stepsPerEpoch = (ex.ids().size() + MAX_BATCH - 1) / MAX_BATCH;
            for (int step = 0; step < steps; step++) {
                int epoch = step / stepsPerEpoch;
                if (epoch != cachedEpoch) {
                    batches = batches(ex.ids().size(), spec.seed(), epoch);
                    cachedEpoch = epoch;
                }
                int[] batch = batches[step % stepsPerEpoch];
                float lr = cosine(step, steps, spec.learningRate());
                float loss;
                synchronized (Autograd.STEP_LOCK) {
                    loss = step(mgr, ex, batch, factors, layout, graphSpec, coef, head, params, omegaDropout, spec.seed(), step, lr);
                }
                if (!Float.isFinite(loss)) throw new IllegalStateException("learned merge diverged: loss " + loss + " at step " + step);
                losses.add(loss);
            }

            Map<String, HostTensor> weights = factors.materialise(coef.value(), layout);
            float[] learned = coef.value().toFloatArray();
            Map<String, double[]> coefficients = coefficientMap(learned, layout, inv);
            PrototypeHead trainedHead = new PrototypeHead(labels, HostTensor.of(head.value()).normalisedRows(), HEAD_SCALE);
            Map<String, String> details = details(inv, spec, ex, losses, perSourceMeans(learned, n), learned.length);
            details.put("coefficient-init", spec.initialCoefficients() == null ? defaultInitName(spec.method()) : "given:" + join(spec.initialCoefficients()));
            if (scalearn) details.put("omega-dropout", Float.toString(omegaDropout));
            details.put("weight-decay", Float.toString(decay));
            Adapter merged = Adapter.lora(inv.mergedSpec(), weights, trainedHead, base.id(), base.fingerprint(),
                    new AdapterProvenance(AdapterProvenance.MERGED, details));
            return new Result(merged, coefficients, losses);
        }
    }

    /** One forward/backward/AdamW update on the coefficients and the head; frees its intermediates. */
    private float step(NDManager mgr, Examples ex, int[] batch, Factors factors, Layout layout, LoraSpec graphSpec, Param coef, Param head,
                       List<Param> params, float omegaDropout, long seed, int step, float lr) {
        List<long[]> batchIds = new ArrayList<>(batch.length);
        int[] labels = new int[batch.length];
        for (int i = 0; i < batch.length; i++) {
            batchIds.add(ex.ids().get(batch[i]));
            labels[i] = ex.y()[batch[i]];
        }
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            if (omegaDropout > 0) Engine.getInstance().setRandomSeed(stepSeed(seed, step));
            NDArray loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray[][] b = new NDArray[factors.layers][factors.modules];
                for (int l = 0; l < factors.layers; l++) {
                    for (int t = 0; t < factors.modules; t++) {
                        NDArray slice = siteSlice(coef.value(), layout, l, t);
                        if (omegaDropout > 0) slice = Dropout.dropout(slice, omegaDropout, true).singletonOrThrow();
                        b[l][t] = factors.mergedB(slice, layout, l, t);
                    }
                }
                NDArray embeddings = base.encode(mgr, batchIds, new LoraArrays(graphSpec, factors.a, b), false); // [B, H]
                loss = LoraTrainer.headLoss(mgr, embeddings, head.value(), labels, ex.classes());
                collector.backward(loss);
            }
            boolean grad = Autograd.disable();
            try {
                float value = loss.getFloat();
                AdamW.update(params, step, lr, MAX_GRAD_NORM);
                return value;
            } finally {
                Autograd.restore(grad);
            }
        }
    }

    static NDArray siteSlice(NDArray coef, Layout layout, int layer, int module) {
        return switch (layout) {
            case SITE_SCALAR, SITE_VECTOR -> coef.get(new NDIndex(":, {}, {}", layer, module)); // [n] or [n, out]
            case SHARED_SCALAR, SHARED_VECTOR -> coef.get(new NDIndex(":, {}", module));        // [n] or [n, out]
        };
    }

    /** The frozen factors on the device: concatenated A per site and {@code s_i B_i} per source and site. */
    private static final class Factors {
        final int layers;
        final int modules;
        final int hidden;
        final int n;
        final NDArray[][] a;             // [layer][module] -> [R, hidden]
        final NDArray[][][] scaledB;     // [source][layer][module] -> [hidden, r_i]
        final HostTensor[][] hostA;
        final Inventory inv;

        Factors(NDManager mgr, Inventory inv) {
            this.inv = inv;
            this.layers = inv.layers();
            this.modules = inv.targets().size();
            this.hidden = inv.hidden();
            this.n = inv.size();
            this.a = new NDArray[layers][modules];
            this.hostA = new HostTensor[layers][modules];
            this.scaledB = new NDArray[n][layers][modules];
            for (int l = 0; l < layers; l++) {
                for (int t = 0; t < modules; t++) {
                    String module = inv.targets().get(t);
                    float[] cat = new float[inv.totalRank() * hidden];
                    int offset = 0;
                    for (int i = 0; i < n; i++) {
                        Adapter src = inv.adapters().get(i);
                        HostTensor ai = src.weights().get(LoraSpec.peftKey(l, module, 'A'));
                        System.arraycopy(ai.data(), 0, cat, offset * hidden, ai.data().length);
                        offset += inv.ranks()[i];
                        HostTensor bi = src.weights().get(LoraSpec.peftKey(l, module, 'B'));
                        float s = src.spec().scaling();
                        float[] scaled = new float[bi.data().length];
                        for (int k = 0; k < scaled.length; k++) scaled[k] = s * bi.data()[k];
                        scaledB[i][l][t] = mgr.create(scaled, new Shape(hidden, inv.ranks()[i]));
                        NDScope.unregister(scaledB[i][l][t]);
                    }
                    hostA[l][t] = new HostTensor(new long[]{inv.totalRank(), hidden}, cat);
                    a[l][t] = mgr.create(cat, new Shape(inv.totalRank(), hidden));
                    NDScope.unregister(a[l][t]);
                }
            }
        }

        /** {@code [c_1 ⊙ s_1 B_1, …, c_n ⊙ s_n B_n]} for one site, {@code c_i} a scalar or a per-row vector. */
        NDArray mergedB(NDArray slice, Layout layout, int layer, int module) {
            NDArray[] parts = new NDArray[n];
            for (int i = 0; i < n; i++) {
                NDArray c = slice.get(i);
                if (layout.vector) c = c.reshape(hidden, 1);
                parts[i] = scaledB[i][layer][module].mul(c);
            }
            return n == 1 ? parts[0] : NDArrays.concat(new NDList(parts), 1);
        }

        /** The merged adapter's PEFT weights for the given coefficients (no dropout, no gradients). */
        Map<String, HostTensor> materialise(NDArray coef, Layout layout) {
            boolean grad = Autograd.disable();
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                Map<String, HostTensor> out = new TreeMap<>();
                for (int l = 0; l < layers; l++) {
                    for (int t = 0; t < modules; t++) {
                        String module = inv.targets().get(t);
                        NDArray b = mergedB(siteSlice(coef, layout, l, t), layout, l, t);
                        out.put(LoraSpec.peftKey(l, module, 'A'), hostA[l][t]);
                        out.put(LoraSpec.peftKey(l, module, 'B'), new HostTensor(new long[]{hidden, inv.totalRank()}, b.toFloatArray()));
                    }
                }
                return out;
            } finally {
                Autograd.restore(grad);
            }
        }
    }

    private static float[] initialCoefficients(LearnedMergeSpec spec, Layout layout, Shape shape, int n) {
        float[] init = new float[Math.toIntExact(shape.size())];
        int perSource = init.length / n;
        List<Double> given = spec.initialCoefficients();
        if (given != null) {
            for (int i = 0; i < n; i++) Arrays.fill(init, i * perSource, (i + 1) * perSource, given.get(i).floatValue());
        } else if (LearnedMergeSpec.ATLAS.equals(spec.method())) {
            Arrays.fill(init, 0f);
        } else if (LearnedMergeSpec.MHR_MU.equals(spec.method())) {
            Arrays.fill(init, 1f / n);
        } else {
            Random random = new Random(spec.seed());
            double mean = SCALEARN_INIT_SCALE / n;
            for (int k = 0; k < init.length; k++) init[k] = (float) (mean + SCALEARN_INIT_STD * random.nextGaussian());
        }
        return init;
    }

    private static String defaultInitName(String method) {
        return switch (method) {
            case LearnedMergeSpec.ATLAS -> "zeros";
            case LearnedMergeSpec.MHR_MU -> "uniform-1/n";
            default -> "normal(" + SCALEARN_INIT_SCALE + "/n," + SCALEARN_INIT_STD + ")";
        };
    }

    /** Coefficients by name (see {@link Result#coefficients}). */
    static Map<String, double[]> coefficientMap(float[] flat, Layout layout, Inventory inv) {
        int n = inv.size();
        int layers = inv.layers();
        int modules = inv.targets().size();
        int out = inv.hidden();
        Map<String, double[]> map = new LinkedHashMap<>();
        switch (layout) {
            case SITE_SCALAR -> {
                for (int l = 0; l < layers; l++) {
                    for (int t = 0; t < modules; t++) {
                        double[] v = new double[n];
                        for (int i = 0; i < n; i++) v[i] = flat[(i * layers + l) * modules + t];
                        map.put("layer." + l + "." + inv.targets().get(t), v);
                    }
                }
            }
            case SITE_VECTOR -> {
                for (int l = 0; l < layers; l++) {
                    for (int t = 0; t < modules; t++) {
                        for (int i = 0; i < n; i++) {
                            double[] v = new double[out];
                            int base = ((i * layers + l) * modules + t) * out;
                            for (int o = 0; o < out; o++) v[o] = flat[base + o];
                            map.put("layer." + l + "." + inv.targets().get(t) + ".source." + i, v);
                        }
                    }
                }
            }
            case SHARED_VECTOR -> {
                for (int t = 0; t < modules; t++) {
                    for (int i = 0; i < n; i++) {
                        double[] v = new double[out];
                        int base = (i * modules + t) * out;
                        for (int o = 0; o < out; o++) v[o] = flat[base + o];
                        map.put(inv.targets().get(t) + ".source." + i, v);
                    }
                }
            }
            case SHARED_SCALAR -> {
                for (int t = 0; t < modules; t++) {
                    double[] v = new double[n];
                    for (int i = 0; i < n; i++) v[i] = flat[i * modules + t];
                    map.put(inv.targets().get(t), v);
                }
            }
        }
        return map;
    }

    /** Mean coefficient of each source (the tensor's leading axis is the source). */
    static double[] perSourceMeans(float[] flat, int n) {
        int per = flat.length / n;
        double[] means = new double[n];
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int k = 0; k < per; k++) sum += flat[i * per + k];
            means[i] = sum / per;
        }
        return means;
    }

    // ------------------------------------------------------------------ MHR-μ

    private Result fitMhrMu(Inventory inv, List<LabeledText> data, List<String> labels, LearnedMergeSpec spec) {
        int n = inv.size();
        double[] weights = new double[n];
        for (int i = 0; i < n; i++) weights[i] = spec.initialCoefficients() == null ? 1.0 / n : spec.initialCoefficients().get(i);
        Map<String, HostTensor> averaged;
        try (NDManager mgr = base.manager().newSubManager()) {
            mgr.setName("learned-merge-mhr");
            Factors factors = new Factors(mgr, inv);
            float[] flat = new float[n * inv.targets().size()];
            for (int i = 0; i < n; i++) Arrays.fill(flat, i * inv.targets().size(), (i + 1) * inv.targets().size(), (float) weights[i]);
            NDArray w = mgr.create(flat, Layout.SHARED_SCALAR.shape(n, inv.layers(), inv.targets().size(), inv.hidden()));
            averaged = factors.materialise(w, Layout.SHARED_SCALAR);
        }
        Map<String, double[]> coefficients = new LinkedHashMap<>();
        coefficients.put("weights", weights.clone());

        Examples ex = examples(data, labels, spec.maxLength());
        List<Float> losses = new ArrayList<>();
        Map<String, HostTensor> finalWeights;
        PrototypeHead head;
        int actualSteps = 0;
        if (spec.steps() == 0) {
            finalWeights = averaged;
            head = new PrototypeHead(labels, classMeans(ex, inv.mergedSpec(), averaged, spec.seed()).normalisedRows(), HEAD_SCALE);
        } else {
            int batch = Math.min(data.size(), MAX_BATCH);
            int stepsPerEpoch = (data.size() + batch - 1) / batch;
            int epochs = (spec.steps() + stepsPerEpoch - 1) / stepsPerEpoch;
            actualSteps = epochs * stepsPerEpoch;
            TrainingSpec ts = new TrainingSpec(epochs, batch, spec.learningRate(), 0f, MHR_WARMUP, MAX_GRAD_NORM, spec.seed(), spec.maxLength(), 0);
            Adapter warm = Adapter.lora(inv.mergedSpec(), averaged, null, base.id(), base.fingerprint(),
                    new AdapterProvenance(AdapterProvenance.MERGED, Map.of("merge-method", LearnedMergeSpec.MHR_MU)));
            Adapter tuned = new LoraTrainer(base).train(new TrainingRequest(data, labels, inv.mergedSpec(), ts, warm,
                    p -> losses.add(p.loss()), null, Map.of()));
            finalWeights = tuned.weights();
            head = tuned.head();
        }
        Map<String, String> details = details(inv, spec, ex, losses, weights, n);
        details.put("coefficient-init", spec.initialCoefficients() == null ? defaultInitName(spec.method()) : "given:" + join(spec.initialCoefficients()));
        details.put("steps", Integer.toString(actualSteps));
        details.put("finetune-rank", Integer.toString(inv.totalRank()));
        details.put("refactorised", "false");
        Adapter merged = Adapter.lora(inv.mergedSpec(), finalWeights, head, base.id(), base.fingerprint(),
                new AdapterProvenance(AdapterProvenance.MERGED, details));
        return new Result(merged, coefficients, losses);
    }

    // ------------------------------------------------------------------ shared helpers

    private Map<String, String> details(Inventory inv, LearnedMergeSpec spec, Examples ex, List<Float> losses, double[] sourceMeans, int count) {
        Map<String, String> d = new TreeMap<>();
        d.put("merge-method", spec.method());
        d.put("steps", Integer.toString(spec.steps()));
        d.put("lr", Float.toString(spec.learningRate()));
        d.put("seed", Long.toString(spec.seed()));
        d.put("max-length", Integer.toString(spec.maxLength()));
        d.put("source-count", Integer.toString(inv.size()));
        d.put("merge-input-ranks", Arrays.stream(inv.ranks()).mapToObj(String::valueOf).collect(Collectors.joining(",")));
        d.put("merged-rank", Integer.toString(inv.totalRank()));
        d.put("train-examples", Integer.toString(ex.ids().size()));
        d.put("coefficient-count", Integer.toString(count));
        d.put("coefficient-means", Arrays.stream(sourceMeans).mapToObj(v -> String.format(Locale.ROOT, "%.6g", v)).collect(Collectors.joining(",")));
        if (!losses.isEmpty()) {
            d.put("initial-loss", Float.toString(losses.get(0)));
            d.put("final-loss", Float.toString(losses.get(losses.size() - 1)));
        }
        d.put("device", base.device());
        return d;
    }

    private static String join(List<Double> values) {
        return values.stream().map(String::valueOf).collect(Collectors.joining(","));
    }

    /** Full batch up to {@link #MAX_BATCH} examples; otherwise batches of that size in an order shuffled with {@code Random(seed + epoch)}. */
    static int[][] batches(int n, long seed, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (n > MAX_BATCH) {
            Random random = new Random(seed + epoch);
            for (int i = n - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int tmp = order[i];
                order[i] = order[j];
                order[j] = tmp;
            }
        }
        int count = (n + MAX_BATCH - 1) / MAX_BATCH;
        int[][] out = new int[count][];
        for (int b = 0; b < count; b++) out[b] = Arrays.copyOfRange(order, b * MAX_BATCH, Math.min(n, (b + 1) * MAX_BATCH));
        return out;
    }

    /** Cosine decay from {@code peak} without warm-up (the first step uses {@code peak}). */
    static float cosine(int step, int total, float peak) {
        return (float) (peak * 0.5 * (1 + Math.cos(Math.PI * step / Math.max(1, total))));
    }

    private static int stepSeed(long seed, int step) {
        long z = seed * 0x9E3779B97F4A7C15L + step + 0x632BE59BD9B4E019L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return (int) ((z ^ (z >>> 31)) & 0x7fffffff);
    }

    /** Normalised class means of the examples' embeddings under a LoRA; a seeded random unit vector for a class without examples. */
    private HostTensor classMeans(Examples ex, LoraSpec spec, Map<String, HostTensor> lora, long seed) {
        int hidden = base.hiddenSize();
        float[][] emb = base.embedTokens(ex.ids(), spec, lora);
        double[] sums = new double[ex.classes() * hidden];
        int[] counts = new int[ex.classes()];
        for (int i = 0; i < emb.length; i++) {
            counts[ex.y()[i]]++;
            for (int j = 0; j < hidden; j++) sums[ex.y()[i] * hidden + j] += emb[i][j];
        }
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int c = 0; c < ex.classes(); c++) {
            if (counts[c] == 0) {
                for (int j = 0; j < hidden; j++) sums[c * hidden + j] = random.nextGaussian();
            }
        }
        float[] flat = new float[sums.length];
        for (int k = 0; k < flat.length; k++) flat[k] = (float) sums[k];
        float[][] rows = new HostTensor(new long[]{ex.classes(), hidden}, flat).normalisedRows();
        for (int c = 0; c < rows.length; c++) System.arraycopy(rows[c], 0, flat, c * hidden, hidden);
        return new HostTensor(new long[]{ex.classes(), hidden}, flat);
    }


    private static Param newParam(NDManager mgr, float[] init, Shape shape, float decay, float lrFactor) {
        NDArray value = mgr.create(init, shape);
        NDArray m = mgr.zeros(shape);
        NDArray v = mgr.zeros(shape);
        NDScope.unregister(value, m, v);
        value.setRequiresGradient(true);
        return new Param(null, value, m, v, decay, lrFactor);
    }

}

package io.lamina.engine.hypernetwork;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.AdamW;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.ProgressListener;
import io.lamina.engine.training.TrainingProgress;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * GenerativeAdapter (METHODS.md §13), adapted to a frozen sentence encoder with a prototype head:
 * maps a few labelled examples to a LoRA in one pass over them.
 *
 * <p>Per target projection (layer {@code l}, module {@code t}) the generator holds an RMSNorm
 * weight {@code w}, {@code A1 [R1, H]} (query side), {@code A2 [R1, H]} (key), {@code A3 [R2, H]}
 * (value) and {@code B [H, R2]} (zero at init). The context's hidden states entering layer
 * {@code l} give {@code K = RMSNorm(H) A2ᵀ}, {@code V = RMSNorm(H) A3ᵀ} (padding rows zeroed) and
 * the state {@code Φ = Σ_tokens Kᵀ V [R1, R2]}, a sum, so examples may stream in chunks in any order
 * with memory {@code O(R1·R2)} per target. The adapter is the LoRA {@code lora_A = Φ̂ᵀ A1},
 * {@code lora_B = B} with {@code Φ̂ = Φ / ‖Φ‖_F}.
 *
 * <p>Adaptations, deliberate: (1) Frobenius normalisation in training and generation, not the
 * reference's truncated SVD (DJL cannot differentiate an SVD; the Frobenius form is the
 * reference's own alternative and keeps generation a few matrix products); (2) the context text of
 * an example is {@code "label: text"}, so the generator sees the label it must separate;
 * (3) meta-training is episodic classification (a prototype head from the support examples' class
 * means under the generated adapter must classify the query examples) instead of next-token
 * reconstruction/completion, since Lamina's adapters serve classification; (4) the generated rank
 * {@code R2} and scaling equal Lamina's default LoRA so a generated adapter can warm-start training.
 */
public final class GenerativeAdapter {
    public static final String FORMAT = "lamina-generative-adapter/1";
    private static final float RMS_EPS = 1e-6f;
    private static final float NORM_EPS = 1e-12f;

    /**
     * @param innerRank {@code R1}, the key width of the state
     * @param rank      {@code R2}, the rank of the generated LoRA
     * @param alpha     LoRA alpha of the generated adapter (scaling {@code alpha / rank})
     */
    public record Spec(int innerRank, int rank, float alpha, List<String> targetModules) {
        public Spec {
            if (innerRank < 1 || innerRank > 1024) throw new IllegalArgumentException("innerRank must be in [1, 1024], got " + innerRank);
            targetModules = List.copyOf(targetModules);
            new LoraSpec(rank, alpha, 0f, targetModules); // validates rank, alpha and targets
        }

        /** R1 = 64; rank, alpha and targets of {@link LoraSpec#defaults()} (r = 8, alpha 16, query and value). */
        public static Spec defaults() {
            LoraSpec d = LoraSpec.defaults();
            return new Spec(64, d.rank(), d.alpha(), d.targetModules());
        }

        /** The spec of a generated adapter (training dropout as Lamina's default, for fine-tuning it). */
        public LoraSpec loraSpec() {
            return new LoraSpec(rank, alpha, LoraSpec.defaults().dropout(), targetModules);
        }
    }

    /**
     * Episodic meta-training settings.
     *
     * @param episodes       optimiser steps, one episode each
     * @param maxWays        classes per episode at most (a random subset of the task's)
     * @param shots          support examples per class; each episode draws one of these
     * @param queryPerClass  query examples per class
     */
    public record MetaTraining(int episodes, int maxWays, int[] shots, int queryPerClass, float learningRate,
                               float weightDecay, float warmupRatio, float maxGradNorm, long seed, int maxLength) {
        public MetaTraining {
            if (episodes < 1) throw new IllegalArgumentException("episodes must be >= 1");
            if (maxWays < 2) throw new IllegalArgumentException("maxWays must be >= 2");
            if (shots == null || shots.length == 0) throw new IllegalArgumentException("shots must name at least one support size");
            for (int k : shots) if (k < 1) throw new IllegalArgumentException("shots must be >= 1");
            if (queryPerClass < 1) throw new IllegalArgumentException("queryPerClass must be >= 1");
            shots = shots.clone();
        }

        /** 200 episodes of up to 8 ways, 4 or 8 shots, 4 queries per class, lr 1e-3, 48 tokens. */
        public static MetaTraining defaults() {
            return new MetaTraining(200, 8, new int[]{4, 8}, 4, 1e-3f, 0.01f, 0.1f, 1f, 42L, 48);
        }

        public MetaTraining withEpisodes(int e) {
            return new MetaTraining(e, maxWays, shots, queryPerClass, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength);
        }

        public MetaTraining withSeed(long s) {
            return new MetaTraining(episodes, maxWays, shots, queryPerClass, learningRate, weightDecay, warmupRatio, maxGradNorm, s, maxLength);
        }
    }

    /** A labelled task to draw episodes from. */
    public record EpisodeTask(String name, List<LabeledText> examples) {
        public EpisodeTask {
            examples = List.copyOf(examples);
        }
    }

    private final Spec spec;
    private final int layers;
    private final int hidden;
    private final SortedMap<String, HostTensor> parameters;

    private GenerativeAdapter(Spec spec, int layers, int hidden, Map<String, HostTensor> parameters) {
        this.spec = spec;
        this.layers = layers;
        this.hidden = hidden;
        this.parameters = new TreeMap<>(parameters);
        for (int l = 0; l < layers; l++) {
            for (String t : spec.targetModules()) {
                check(key(l, t, "norm"), hidden);
                check(key(l, t, "A1"), spec.innerRank(), hidden);
                check(key(l, t, "A2"), spec.innerRank(), hidden);
                check(key(l, t, "A3"), spec.rank(), hidden);
                check(key(l, t, "B"), hidden, spec.rank());
            }
        }
    }

    /** A fresh generator: A1, A2, A3 Kaiming-normal ({@code a = √5}, as the reference), B zero, norm weights one. */
    public static GenerativeAdapter initial(Spec spec, int layers, int hidden, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        double std = Math.sqrt(2.0 / (1 + 5)) / Math.sqrt(hidden); // gain(leaky_relu, a=√5) / sqrt(fan_in)
        Map<String, HostTensor> p = new TreeMap<>();
        for (int l = 0; l < layers; l++) {
            for (String t : spec.targetModules()) {
                float[] ones = new float[hidden];
                java.util.Arrays.fill(ones, 1f);
                p.put(key(l, t, "norm"), new HostTensor(new long[]{hidden}, ones));
                p.put(key(l, t, "A1"), gaussian(random, std, spec.innerRank(), hidden));
                p.put(key(l, t, "A2"), gaussian(random, std, spec.innerRank(), hidden));
                p.put(key(l, t, "A3"), gaussian(random, std, spec.rank(), hidden));
                p.put(key(l, t, "B"), HostTensor.zeros(hidden, spec.rank()));
            }
        }
        return new GenerativeAdapter(spec, layers, hidden, p);
    }

    public Spec spec() { return spec; }

    public SortedMap<String, HostTensor> parameters() { return java.util.Collections.unmodifiableSortedMap(parameters); }

    public long parameterCount() {
        long n = 0;
        for (HostTensor t : parameters.values()) n += t.data().length;
        return n;
    }

    /** The same generator with another parameter value (tests: e.g. a zero up-factor). */
    public GenerativeAdapter withParameter(String key, HostTensor value) {
        Map<String, HostTensor> p = new TreeMap<>(parameters);
        p.put(key, value);
        return new GenerativeAdapter(spec, layers, hidden, p);
    }

    public static String key(int layer, String module, String part) {
        return "generator.layer." + layer + "." + module + "." + part;
    }

    /** How an example enters the context: its label, then its text. */
    public static String contextText(LabeledText example) {
        return example.label() + ": " + example.text();
    }

    // ---------------------------------------------------------------- generation

    /** The un-normalised state {@code Φ} per layer and target, summed over the context seen so far. */
    public static final class ContextState {
        private final float[][][] phi; // [layer][target][R1*R2]
        private long examples;

        private ContextState(int layers, int targets, int size) {
            phi = new float[layers][targets][size];
        }

        public long examples() { return examples; }

        /** {@code Φ} of one layer and target, row-major {@code [R1, R2]} (a copy). */
        public float[] phi(int layer, int target) { return phi[layer][target].clone(); }
    }

    public ContextState emptyState() {
        return new ContextState(layers, spec.targetModules().size(), spec.innerRank() * spec.rank());
    }

    /** Adds a chunk of context examples to {@code state}: one forward pass of the frozen base over them. */
    public void accumulate(BaseModel base, ContextState state, List<LabeledText> examples, int maxLength) {
        if (examples.isEmpty()) return;
        List<String> texts = examples.stream().map(GenerativeAdapter::contextText).toList();
        List<long[]> ids = base.tokenize(texts, maxLength);
        boolean grad = Autograd.disable();
        try (NDManager mgr = base.manager().newSubManager()) {
            Map<String, NDArray> p = onDevice(mgr);
            NDArray[][] phi = phi(mgr, base, p, ids);
            for (int l = 0; l < layers; l++) {
                for (int t = 0; t < phi[l].length; t++) {
                    float[] add = phi[l][t].toFloatArray();
                    float[] sum = state.phi[l][t];
                    for (int i = 0; i < sum.length; i++) sum[i] += add[i];
                }
            }
            state.examples += examples.size();
        } finally {
            Autograd.restore(grad);
        }
    }

    /** The generated LoRA factors under PEFT keys (normalised state), for {@link #spec()}{@code .loraSpec()}. */
    public SortedMap<String, HostTensor> loraWeights(ContextState state) {
        if (state.examples == 0) throw new IllegalArgumentException("the context is empty: give at least one example");
        boolean grad = Autograd.disable();
        try (NDManager mgr = Engine.getInstance().newBaseManager()) {
            Map<String, NDArray> p = onDevice(mgr);
            NDArray[][] phi = new NDArray[layers][spec.targetModules().size()];
            for (int l = 0; l < layers; l++) {
                for (int t = 0; t < phi[l].length; t++) {
                    phi[l][t] = mgr.create(state.phi[l][t], new Shape(spec.innerRank(), spec.rank()));
                }
            }
            LoraArrays lora = lora(mgr, p, phi);
            SortedMap<String, HostTensor> out = new TreeMap<>();
            for (int l = 0; l < layers; l++) {
                for (int t = 0; t < phi[l].length; t++) {
                    String module = spec.targetModules().get(t);
                    out.put(LoraSpec.peftKey(l, module, 'A'), HostTensor.of(lora.a()[l][t]));
                    out.put(LoraSpec.peftKey(l, module, 'B'), HostTensor.of(lora.b()[l][t]));
                }
            }
            return out;
        } finally {
            Autograd.restore(grad);
        }
    }

    // ---------------------------------------------------------------- the differentiable core

    /** {@code Φ[l][t] = Σ_tokens Kᵀ V} for the context {@code ids}; recorded by autograd when a collector is open. */
    private NDArray[][] phi(NDManager mgr, BaseModel base, Map<String, NDArray> p, List<long[]> ids) {
        int len = 0;
        for (long[] s : ids) len = Math.max(len, s.length);
        float[] keep = new float[ids.size() * len];
        for (int i = 0; i < ids.size(); i++) {
            for (int t = 0; t < ids.get(i).length; t++) keep[i * len + t] = 1f;
        }
        NDArray mask = mgr.create(keep, new Shape(keep.length, 1)).toDevice(base.djlDevice(), false);
        NDArray eps = Autograd.constant(mgr, RMS_EPS);
        NDArray[][] phi = new NDArray[layers][spec.targetModules().size()];
        base.encode(mgr, ids, (layer, x, qkv) -> {
            // the hidden states entering this layer, RMS-normalised per token; padding rows zeroed
            NDArray rms = x.square().mean(new int[]{1}, true).add(eps).sqrt();
            NDArray xn = x.div(rms).mul(mask);
            for (int t = 0; t < spec.targetModules().size(); t++) {
                String module = spec.targetModules().get(t);
                NDArray h = xn.mul(p.get(key(layer, module, "norm")));
                NDArray k = h.matMul(p.get(key(layer, module, "A2")).transpose());   // [N, R1]
                NDArray v = h.matMul(p.get(key(layer, module, "A3")).transpose());   // [N, R2]
                phi[layer][t] = k.transpose().matMul(v);                             // [R1, R2]
            }
            return qkv;
        });
        return phi;
    }

    /** The generated LoRA: {@code a = (Φ/‖Φ‖_F)ᵀ A1 [R2, H]}, {@code b = B [H, R2]}. */
    private LoraArrays lora(NDManager mgr, Map<String, NDArray> p, NDArray[][] phi) {
        int targets = spec.targetModules().size();
        NDArray[][] a = new NDArray[layers][targets];
        NDArray[][] b = new NDArray[layers][targets];
        NDArray eps = Autograd.constant(mgr, NORM_EPS);
        for (int l = 0; l < layers; l++) {
            for (int t = 0; t < targets; t++) {
                String module = spec.targetModules().get(t);
                NDArray norm = phi[l][t].square().sum().add(eps).sqrt();
                NDArray normalised = phi[l][t].div(norm);
                a[l][t] = normalised.transpose().matMul(p.get(key(l, module, "A1")));
                b[l][t] = p.get(key(l, module, "B"));
            }
        }
        return new LoraArrays(new LoraSpec(spec.rank(), spec.alpha(), 0f, spec.targetModules()), a, b);
    }

    private Map<String, NDArray> onDevice(NDManager mgr) {
        Map<String, NDArray> p = new LinkedHashMap<>();
        for (var e : parameters.entrySet()) p.put(e.getKey(), mgr.create(e.getValue().data(), new Shape(e.getValue().shape())));
        return p;
    }

    // ---------------------------------------------------------------- meta-training

    /**
     * Meta-trains a fresh generator on episodes drawn from {@code tasks}: for a task, up to
     * {@code maxWays} of its classes, {@code K} support and some query examples per class; the adapter
     * generated from the support examples' context, a prototype head from the support examples'
     * class means under that adapter, cross-entropy of the query examples (the trainer's cosine head).
     * AdamW with warm-up and cosine decay, as LoRA training.
     */
    public static GenerativeAdapter metaTrain(BaseModel base, Spec spec, List<EpisodeTask> tasks, MetaTraining mt,
                                              ProgressListener listener) {
        List<Episodes.Task> usable = Episodes.usable(tasks);
        if (usable.isEmpty()) {
            throw new IllegalArgumentException("meta-training needs at least one task with two classes of at least two examples each");
        }
        GenerativeAdapter start = initial(spec, base.layers(), base.hiddenSize(), mt.seed());
        SplittableRandom random = new SplittableRandom(mt.seed() ^ 0x9E3779B97F4A7C15L);
        int warmup = (int) Math.ceil(mt.warmupRatio() * mt.episodes());
        try (NDManager mgr = base.manager().newSubManager()) {
            Map<String, AdamW.Param> params = new LinkedHashMap<>();
            for (var e : start.parameters.entrySet()) {
                boolean decays = !e.getKey().endsWith(".norm");
                params.put(e.getKey(), AdamW.param(mgr, e.getKey(), e.getValue(), null, null, decays ? mt.weightDecay() : 0f));
            }
            Map<String, NDArray> values = new LinkedHashMap<>();
            params.forEach((k, v) -> values.put(k, v.value()));
            List<AdamW.Param> list = List.copyOf(params.values());
            for (int step = 0; step < mt.episodes(); step++) {
                Episodes.Episode episode = Episodes.draw(usable, mt.maxWays(), mt.shots()[random.nextInt(mt.shots().length)],
                        mt.queryPerClass(), random);
                float lr = LoraTrainer.learningRate(step, mt.episodes(), warmup, mt.learningRate());
                long t0 = System.nanoTime();
                float loss;
                synchronized (Autograd.STEP_LOCK) {
                    loss = start.episodeStep(mgr, base, values, list, episode, step, lr, mt);
                }
                if (!Float.isFinite(loss)) throw new IllegalStateException("meta-training diverged: loss " + loss + " at episode " + step);
                double seconds = (System.nanoTime() - t0) / 1e9;
                listener.onProgress(new TrainingProgress(step + 1, mt.episodes(), 0, loss,
                        (float) ((episode.support().size() + episode.query().size()) / seconds)));
            }
            Map<String, HostTensor> trained = new TreeMap<>();
            params.forEach((k, v) -> trained.put(k, HostTensor.of(v.value())));
            return new GenerativeAdapter(spec, base.layers(), base.hiddenSize(), trained);
        }
    }

    private float episodeStep(NDManager mgr, BaseModel base, Map<String, NDArray> p, List<AdamW.Param> params,
                              Episodes.Episode e, int step, float lr, MetaTraining mt) {
        int classes = e.labels().size();
        List<long[]> context = base.tokenize(e.support().stream().map(GenerativeAdapter::contextText).toList(), mt.maxLength());
        List<String> texts = new ArrayList<>();
        for (LabeledText t : e.support()) texts.add(t.text());
        for (LabeledText t : e.query()) texts.add(t.text());
        List<long[]> ids = base.tokenize(texts, mt.maxLength());
        int s = e.support().size();
        // class means of the support rows as a matrix product: M [C, S] with 1/count entries
        float[] means = new float[classes * s];
        int[] counts = new int[classes];
        for (LabeledText t : e.support()) counts[e.labels().indexOf(t.label())]++;
        for (int i = 0; i < s; i++) {
            int c = e.labels().indexOf(e.support().get(i).label());
            means[c * s + i] = 1f / counts[c];
        }
        int[] queryLabels = new int[e.query().size()];
        for (int i = 0; i < queryLabels.length; i++) queryLabels[i] = e.labels().indexOf(e.query().get(i).label());
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            NDArray loss;
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                LoraArrays lora = lora(mgr, p, phi(mgr, base, p, context));
                NDArray embeddings = base.encode(mgr, ids, lora, false);                       // [S + Q, H]
                NDArray support = embeddings.get("0:" + s);
                NDArray query = embeddings.get(s + ":");
                NDArray prototypes = mgr.create(means, new Shape(classes, s)).toDevice(base.djlDevice(), false).matMul(support);
                loss = LoraTrainer.headLoss(mgr, query, prototypes, queryLabels, classes);
                collector.backward(loss);
            }
            boolean grad = Autograd.disable();
            try {
                float value = loss.getFloat();
                AdamW.update(params, step, lr, mt.maxGradNorm());
                return value;
            } finally {
                Autograd.restore(grad);
            }
        }
    }

    // ---------------------------------------------------------------- persistence

    public byte[] toSafetensors() {
        Map<String, String> meta = new TreeMap<>();
        meta.put("format", FORMAT);
        meta.put("inner-rank", Integer.toString(spec.innerRank()));
        meta.put("rank", Integer.toString(spec.rank()));
        meta.put("alpha", Float.toString(spec.alpha()));
        meta.put("target-modules", String.join(",", spec.targetModules()));
        meta.put("layers", Integer.toString(layers));
        meta.put("hidden", Integer.toString(hidden));
        return Safetensors.write(parameters, meta);
    }

    public static GenerativeAdapter fromSafetensors(byte[] bytes) {
        Safetensors.SafetensorsFile f = Safetensors.readFloatTensors(bytes);
        Map<String, String> m = f.metadata();
        if (!FORMAT.equals(m.get("format"))) throw new IllegalArgumentException("not a GenerativeAdapter generator (format " + m.get("format") + ")");
        Spec spec = new Spec(Integer.parseInt(m.get("inner-rank")), Integer.parseInt(m.get("rank")), Float.parseFloat(m.get("alpha")),
                List.of(m.get("target-modules").split(",")));
        return new GenerativeAdapter(spec, Integer.parseInt(m.get("layers")), Integer.parseInt(m.get("hidden")), f.tensors());
    }

    private void check(String key, long... shape) {
        HostTensor t = parameters.get(key);
        if (t == null) throw new IllegalArgumentException("generator lacks " + key);
        if (!java.util.Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException(key + " has shape " + java.util.Arrays.toString(t.shape()) + ", expected " + java.util.Arrays.toString(shape));
        }
    }

    private static HostTensor gaussian(SplittableRandom random, double std, int rows, int cols) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) (random.nextGaussian() * std);
        return new HostTensor(new long[]{rows, cols}, v);
    }
}

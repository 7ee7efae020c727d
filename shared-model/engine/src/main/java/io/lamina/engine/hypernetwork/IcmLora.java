package io.lamina.engine.hypernetwork;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.convolutional.Conv1d;
import ai.djl.training.GradientCollector;
import io.lamina.engine.io.Safetensors;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.AdamW;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.ProgressListener;
import io.lamina.engine.training.TrainingProgress;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * ICM-LoRA (METHODS.md §14): a conditional VAE over flattened, per-tensor normalised LoRA
 * checkpoints ({@link LoraFlattening}), conditioned on a task vector ({@link TaskCondition}).
 *
 * <p>Architecture as the reference, sized for Lamina's adapters: the vector is zero-padded to a
 * multiple of {@code 2^blocks}; the encoder is {@code blocks} × [Conv1d(k, stride 2) → norm →
 * LeakyReLU], flatten, Linear → latent; {@code [latent ; c]} → μ, log σ²; the decoder maps
 * {@code [z ; c]} to the deepest feature map, then {@code blocks − 1} × [ConvTranspose1d(k, stride 2)
 * → norm → ELU], a last ConvTranspose1d → norm → ELU and a Conv1d to one channel (each transposed
 * convolution as zero insertion and a stride-1 convolution, which computes the same family of maps:
 * DJL's PyTorch engine has no deconvolution). Loss
 * {@code MSE(x̂, x) + kldWeight · mean_batch(−½ Σ(1 + log σ² − μ² − σ²))}.
 *
 * <p>Adaptations: (1) channel widths default to {@code [4, 8, 16, 32, 32, 32, 32, 32, 16, 8]} and a
 * 64-wide latent instead of 12 blocks up to 256 channels and 256 (a rank-8 LoRA on MiniLM has 73,728
 * values, not 1.9 M, and this trains on two CPU cores); (2) the normalisation is per sample and
 * channel over the length (instance norm) instead of BatchNorm: generation runs on a batch of one and
 * the training sets are small, so batch statistics would differ between training and generation;
 * (3) generation decodes the prior's mean ({@code z = 0}) unless a temperature is given, so a
 * generated adapter is reproducible; (4) de-normalisation uses the statistics of the training
 * checkpoint whose condition is nearest (the reference takes the task's own checkpoint, which a new
 * task does not have); (5) the decoder's output adds a linear basis, {@code mean + U·g([z ; c])} with
 * {@code U} of {@code basis} learned directions over the padded vector: convolutions are
 * translation-equivariant, so the reference's decoder can only place values through its coarsest
 * map (576 numbers here) and, measured on WordNet LoRAs, reproduced none of them, not even a
 * training task's (its output de-normalised to the base model); the basis carries position-specific
 * weights the convolutions cannot.
 */
public final class IcmLora {
    public static final String FORMAT = "lamina-icm-lora/1";
    private static final float NORM_EPS = 1e-5f;
    private static final float LEAKY_SLOPE = 0.01f;

    /**
     * @param channels  encoder widths, one per stride-2 block (the decoder mirrors them)
     * @param kernel    odd convolution width
     * @param latent    latent width
     * @param kldWeight weight of the KL term (the reference's 0.005)
     * @param basis     width of the decoder's linear output basis (0: the reference's convolutional decoder alone)
     */
    public record Spec(int[] channels, int kernel, int latent, float kldWeight, int basis) {
        public Spec {
            if (basis < 0 || basis > 256) throw new IllegalArgumentException("basis must be in [0, 256], got " + basis);
            if (channels == null || channels.length < 1 || channels.length > 16) throw new IllegalArgumentException("1 to 16 blocks");
            for (int c : channels) if (c < 1) throw new IllegalArgumentException("channel widths must be >= 1");
            if (kernel < 1 || kernel % 2 == 0) throw new IllegalArgumentException("kernel must be odd, got " + kernel);
            if (latent < 1) throw new IllegalArgumentException("latent must be >= 1");
            if (!(kldWeight >= 0)) throw new IllegalArgumentException("kldWeight must be >= 0");
            channels = channels.clone();
        }

        public static Spec defaults() {
            return new Spec(new int[]{4, 8, 16, 32, 32, 32, 32, 32, 16, 8}, 7, 64, 0.005f, 32);
        }

        public Spec withKldWeight(float w) { return new Spec(channels, kernel, latent, w, basis); }

        public Spec withBasis(int b) { return new Spec(channels, kernel, latent, kldWeight, b); }

        int multiple() { return 1 << channels.length; }
    }

    /** @param steps optimiser steps; @param batchSize checkpoints per step */
    public record Training(int steps, int batchSize, float learningRate, float warmupRatio, long seed) {
        public Training {
            if (steps < 1 || batchSize < 1) throw new IllegalArgumentException("steps and batchSize must be >= 1");
        }

        /** 400 steps of 4 checkpoints, lr 1e-3 (warm-up 10 %, cosine), seed 2024 (the reference's). */
        public static Training defaults() {
            return new Training(400, 4, 1e-3f, 0.1f, 2024L);
        }

        public Training withSteps(int s) { return new Training(s, batchSize, learningRate, warmupRatio, seed); }
    }

    /** One training sample: a flattened checkpoint and its task's condition. */
    public record Checkpoint(LoraFlattening.Flattened weights, float[] condition) {
    }

    private final Spec spec;
    private final int dimension;     // D, before padding
    private final int conditionWidth;
    private final List<LoraFlattening.Slot> layout; // offsets and shapes; statistics of the first checkpoint
    private final float[][] referenceConditions;    // [N][dc]
    private final double[][] referenceMeans;        // [N][tensors]
    private final double[][] referenceStds;
    private final SortedMap<String, HostTensor> parameters;

    private IcmLora(Spec spec, int dimension, int conditionWidth, List<LoraFlattening.Slot> layout, float[][] referenceConditions,
                    double[][] referenceMeans, double[][] referenceStds, Map<String, HostTensor> parameters) {
        this.spec = spec;
        this.dimension = dimension;
        this.conditionWidth = conditionWidth;
        this.layout = List.copyOf(layout);
        this.referenceConditions = referenceConditions;
        this.referenceMeans = referenceMeans;
        this.referenceStds = referenceStds;
        this.parameters = new TreeMap<>(parameters);
    }

    public Spec spec() { return spec; }

    public int dimension() { return dimension; }

    /** {@code D} padded to a multiple of {@code 2^blocks}. */
    public int paddedDimension() { return paddedDimension(dimension, spec); }

    public long parameterCount() {
        long n = 0;
        for (HostTensor t : parameters.values()) n += t.data().length;
        return n;
    }

    public int trainingCheckpoints() { return referenceConditions.length; }

    static int paddedDimension(int d, Spec spec) {
        int m = spec.multiple();
        return (d + m - 1) / m * m;
    }

    // ---------------------------------------------------------------- training

    /** Trains a fresh CVAE on {@code checkpoints} (all with the same tensor layout). */
    public static IcmLora train(Spec spec, List<Checkpoint> checkpoints, Training t, ProgressListener listener) {
        if (checkpoints.isEmpty()) throw new IllegalArgumentException("ICM-LoRA needs at least one LoRA checkpoint");
        String layoutKey = checkpoints.get(0).weights().layout();
        int dc = checkpoints.get(0).condition().length;
        for (Checkpoint c : checkpoints) {
            if (!c.weights().layout().equals(layoutKey)) throw new IllegalArgumentException("checkpoints must share one LoRA layout (rank, targets, base)");
            if (c.condition().length != dc) throw new IllegalArgumentException("conditions must share one width");
        }
        int d = checkpoints.get(0).weights().dimension();
        int padded = paddedDimension(d, spec);
        int n = checkpoints.size();
        int tensors = checkpoints.get(0).weights().slots().size();
        float[][] conditions = new float[n][];
        double[][] means = new double[n][tensors];
        double[][] stds = new double[n][tensors];
        for (int i = 0; i < n; i++) {
            conditions[i] = checkpoints.get(i).condition().clone();
            for (int s = 0; s < tensors; s++) {
                // float precision, as the generator's file keeps them: a loaded generator generates the same
                means[i][s] = (float) checkpoints.get(i).weights().slots().get(s).mean();
                stds[i][s] = (float) checkpoints.get(i).weights().slots().get(s).std();
            }
        }
        Map<String, HostTensor> initial = initialParameters(spec, padded, dc, t.seed());
        if (spec.basis() > 0) {
            float[] mean = new float[padded];
            for (Checkpoint c : checkpoints) for (int i = 0; i < d; i++) mean[i] += c.weights().values()[i] / n;
            initial.put("dec.mean", new HostTensor(new long[]{padded}, mean));
        }
        IcmLora model = new IcmLora(spec, d, dc, checkpoints.get(0).weights().slots(), conditions, means, stds, initial);
        SplittableRandom random = new SplittableRandom(t.seed());
        int warmup = (int) Math.ceil(t.warmupRatio() * t.steps());
        try (NDManager mgr = Engine.getInstance().newBaseManager()) {
            Map<String, AdamW.Param> params = new LinkedHashMap<>();
            for (var e : model.parameters.entrySet()) params.put(e.getKey(), AdamW.param(mgr, e.getKey(), e.getValue(), null, null, 0f));
            Map<String, NDArray> values = new LinkedHashMap<>();
            params.forEach((k, v) -> values.put(k, v.value()));
            List<AdamW.Param> list = List.copyOf(params.values());
            for (int step = 0; step < t.steps(); step++) {
                int b = Math.min(t.batchSize(), n);
                float[] x = new float[b * padded];
                float[] c = new float[b * dc];
                for (int i = 0; i < b; i++) {
                    Checkpoint pick = checkpoints.get(random.nextInt(n));
                    System.arraycopy(pick.weights().values(), 0, x, i * padded, d);
                    System.arraycopy(pick.condition(), 0, c, i * dc, dc);
                }
                float[] noise = new float[b * spec.latent()];
                for (int i = 0; i < noise.length; i++) noise[i] = (float) random.nextGaussian();
                float lr = LoraTrainer.learningRate(step, t.steps(), warmup, t.learningRate());
                long t0 = System.nanoTime();
                float loss;
                synchronized (Autograd.STEP_LOCK) {
                    try (NDScope scope = new NDScope()) {
                        scope.suppressNotUsedWarning();
                        NDArray total;
                        try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                            NDArray xs = mgr.create(x, new Shape(b, 1, padded));
                            NDArray cs = mgr.create(c, new Shape(b, dc));
                            NDArray[] muLogvar = model.encode(mgr, values, xs, cs);
                            NDArray z = muLogvar[0].add(mgr.create(noise, new Shape(b, spec.latent()))
                                    .mul(muLogvar[1].mul(Autograd.constant(mgr, 0.5f)).exp()));
                            NDArray reconstruction = model.decode(mgr, values, z, cs);
                            NDArray mse = reconstruction.sub(xs).square().mean();
                            total = mse.add(klDivergence(mgr, muLogvar[0], muLogvar[1]).mul(Autograd.constant(mgr, spec.kldWeight())));
                            collector.backward(total);
                        }
                        boolean grad = Autograd.disable();
                        try {
                            loss = total.getFloat();
                            AdamW.update(list, step, lr, 1f);
                        } finally {
                            Autograd.restore(grad);
                        }
                    }
                }
                if (!Float.isFinite(loss)) throw new IllegalStateException("ICM-LoRA training diverged at step " + step);
                listener.onProgress(new TrainingProgress(step + 1, t.steps(), 0, loss, (float) (b / ((System.nanoTime() - t0) / 1e9))));
            }
            Map<String, HostTensor> trained = new TreeMap<>();
            params.forEach((k, v) -> trained.put(k, HostTensor.of(v.value())));
            return new IcmLora(spec, d, dc, model.layout, conditions, means, stds, trained);
        }
    }

    /** {@code mean_batch(−½ Σ_j (1 + logvar − μ² − e^{logvar}))}, the KL divergence from {@code N(μ, σ²)} to {@code N(0, I)}. */
    public static NDArray klDivergence(NDManager mgr, NDArray mu, NDArray logvar) {
        NDArray inner = logvar.add(Autograd.constant(mgr, 1f)).sub(mu.square()).sub(logvar.exp());
        return inner.sum(new int[]{1}).mean().mul(Autograd.constant(mgr, -0.5f));
    }

    // ---------------------------------------------------------------- generation

    /**
     * A LoRA for the task with condition {@code c}: decode {@code z = temperature · ε} (ε seeded
     * standard normal; temperature 0 decodes the prior mean), truncate, de-normalise with the
     * statistics of the training checkpoint whose condition is nearest, reshape.
     */
    public SortedMap<String, HostTensor> generate(float[] condition, float temperature, long seed) {
        if (condition.length != conditionWidth) throw new IllegalArgumentException("condition has width " + condition.length + ", the generator " + conditionWidth);
        float[] z = new float[spec.latent()];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < z.length; i++) z[i] = (float) (random.nextGaussian() * temperature);
        float[] decoded = decode(z, condition);
        return LoraFlattening.unflatten(Arrays.copyOf(decoded, dimension), referenceSlots(condition));
    }

    /** The decoder's output for latent {@code z} and condition {@code c} (normalised space, padded length). */
    public float[] decode(float[] z, float[] condition) {
        boolean grad = Autograd.disable();
        try (NDManager mgr = Engine.getInstance().newBaseManager()) {
            Map<String, NDArray> p = onDevice(mgr);
            return decode(mgr, p, mgr.create(z, new Shape(1, z.length)), mgr.create(condition, new Shape(1, condition.length))).toFloatArray();
        } finally {
            Autograd.restore(grad);
        }
    }

    /** Encode to μ, then decode it: the reconstruction of a normalised checkpoint (padded length). */
    public float[] reconstruct(float[] normalised, float[] condition) {
        boolean grad = Autograd.disable();
        try (NDManager mgr = Engine.getInstance().newBaseManager()) {
            Map<String, NDArray> p = onDevice(mgr);
            NDArray cs = mgr.create(condition, new Shape(1, condition.length));
            NDArray mu = encode(mgr, p, mgr.create(Arrays.copyOf(normalised, paddedDimension()), new Shape(1, 1, paddedDimension())), cs)[0];
            return decode(mgr, p, mu, cs).toFloatArray();
        } finally {
            Autograd.restore(grad);
        }
    }

    private List<LoraFlattening.Slot> referenceSlots(float[] condition) {
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < referenceConditions.length; i++) {
            double s = TaskCondition.cosine(condition, referenceConditions[i]);
            if (s > bestScore) {
                bestScore = s;
                best = i;
            }
        }
        List<LoraFlattening.Slot> slots = new ArrayList<>();
        for (int s = 0; s < layout.size(); s++) {
            LoraFlattening.Slot l = layout.get(s);
            slots.add(new LoraFlattening.Slot(l.key(), l.shape(), l.offset(), l.length(), referenceMeans[best][s], referenceStds[best][s]));
        }
        return slots;
    }

    // ---------------------------------------------------------------- the network

    private NDArray[] encode(NDManager mgr, Map<String, NDArray> p, NDArray x, NDArray c) {
        int pad = spec.kernel() / 2;
        NDArray h = x;
        for (int i = 0; i < spec.channels().length; i++) {
            h = Conv1d.conv1d(h, p.get("enc." + i + ".weight"), p.get("enc." + i + ".bias"), new Shape(2), new Shape(pad), new Shape(1), 1).singletonOrThrow();
            h = Activation.leakyRelu(instanceNorm(mgr, h, p.get("enc." + i + ".gamma"), p.get("enc." + i + ".beta")), LEAKY_SLOPE);
        }
        NDArray flat = h.reshape(h.getShape().get(0), -1);
        NDArray e = linear(flat, p, "enc.latent");
        NDArray ec = e.concat(c, 1);
        return new NDArray[]{linear(ec, p, "mu"), linear(ec, p, "logvar")};
    }

    private NDArray decode(NDManager mgr, Map<String, NDArray> p, NDArray z, NDArray c) {
        int blocks = spec.channels().length;
        int pad = spec.kernel() / 2;
        int deepest = spec.channels()[blocks - 1];
        long b = z.getShape().get(0);
        NDArray h = linear(z.concat(c, 1), p, "dec.input").reshape(b, deepest, paddedDimension() >> blocks);
        for (int j = 0; j < blocks; j++) {
            h = Conv1d.conv1d(upsample(mgr, h), p.get("dec." + j + ".weight"), p.get("dec." + j + ".bias"), new Shape(1), new Shape(pad),
                    new Shape(1), 1).singletonOrThrow();
            h = Activation.elu(instanceNorm(mgr, h, p.get("dec." + j + ".gamma"), p.get("dec." + j + ".beta")), 1f);
        }
        h = Conv1d.conv1d(h, p.get("dec.out.weight"), p.get("dec.out.bias"), new Shape(1), new Shape(pad), new Shape(1), 1).singletonOrThrow();
        NDArray out = h.reshape(b, 1, paddedDimension());
        if (spec.basis() > 0) {
            // position-specific output: the checkpoints' mean plus a conditioned combination of learned directions
            NDArray coefficients = linear(z.concat(c, 1), p, "dec.coef");                                   // [B, basis]
            out = out.add(coefficients.matMul(p.get("dec.basis")).add(p.get("dec.mean")).reshape(b, 1, paddedDimension()));
        }
        return out;
    }

    /**
     * Zero insertion, {@code [B, C, L] → [B, C, 2L]} with every other value zero: followed by a stride-1
     * convolution this is a stride-2 transposed convolution (output padding 1), which DJL's PyTorch
     * engine does not implement; the learned kernel is the transposed one's, flipped.
     */
    private static NDArray upsample(NDManager mgr, NDArray h) {
        Shape s = h.getShape();
        return h.expandDims(3).concat(mgr.zeros(new Shape(s.get(0), s.get(1), s.get(2), 1), h.getDataType(), h.getDevice()), 3)
                .reshape(s.get(0), s.get(1), s.get(2) * 2);
    }

    private static NDArray instanceNorm(NDManager mgr, NDArray h, NDArray gamma, NDArray beta) {
        NDArray centred = h.sub(h.mean(new int[]{2}, true));
        NDArray std = centred.square().mean(new int[]{2}, true).add(Autograd.constant(mgr, NORM_EPS)).sqrt();
        long ch = gamma.getShape().get(0);
        return centred.div(std).mul(gamma.reshape(1, ch, 1)).add(beta.reshape(1, ch, 1));
    }

    private static NDArray linear(NDArray x, Map<String, NDArray> p, String name) {
        return x.matMul(p.get(name + ".weight").transpose()).add(p.get(name + ".bias"));
    }

    /** Decoder widths: the encoder's reversed, the last block keeping the first width. */
    private static int[] decoderOut(Spec spec) {
        int n = spec.channels().length;
        int[] out = new int[n];
        for (int j = 0; j < n; j++) out[j] = spec.channels()[Math.max(0, n - 2 - j)];
        return out;
    }

    private static Map<String, HostTensor> initialParameters(Spec spec, int padded, int dc, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, HostTensor> p = new TreeMap<>();
        int k = spec.kernel();
        int in = 1;
        for (int i = 0; i < spec.channels().length; i++) {
            int out = spec.channels()[i];
            p.put("enc." + i + ".weight", uniform(r, in * k, out, in, k));
            p.put("enc." + i + ".bias", uniform(r, in * k, out));
            p.put("enc." + i + ".gamma", constant(1f, out));
            p.put("enc." + i + ".beta", constant(0f, out));
            in = out;
        }
        int deepestLength = padded >> spec.channels().length;
        int flat = in * deepestLength;
        p.put("enc.latent.weight", uniform(r, flat, spec.latent(), flat));
        p.put("enc.latent.bias", uniform(r, flat, spec.latent()));
        for (String head : List.of("mu", "logvar")) {
            p.put(head + ".weight", uniform(r, spec.latent() + dc, spec.latent(), spec.latent() + dc));
            p.put(head + ".bias", uniform(r, spec.latent() + dc, spec.latent()));
        }
        p.put("dec.input.weight", uniform(r, spec.latent() + dc, flat, spec.latent() + dc));
        p.put("dec.input.bias", uniform(r, spec.latent() + dc, flat));
        int[] outs = decoderOut(spec);
        for (int j = 0; j < outs.length; j++) {
            p.put("dec." + j + ".weight", uniform(r, outs[j] * k, outs[j], in, k)); // fan-in of the transposed convolution
            p.put("dec." + j + ".bias", uniform(r, outs[j] * k, outs[j]));
            p.put("dec." + j + ".gamma", constant(1f, outs[j]));
            p.put("dec." + j + ".beta", constant(0f, outs[j]));
            in = outs[j];
        }
        p.put("dec.out.weight", uniform(r, in * k, 1, in, k));
        p.put("dec.out.bias", uniform(r, in * k, 1));
        if (spec.basis() > 0) {
            p.put("dec.coef.weight", uniform(r, spec.latent() + dc, spec.basis(), spec.latent() + dc));
            p.put("dec.coef.bias", uniform(r, spec.latent() + dc, spec.basis()));
            p.put("dec.basis", uniform(r, padded, spec.basis(), padded));
            p.put("dec.mean", new HostTensor(new long[]{padded}, new float[padded])); // set to the data's mean in train()
        }
        return p;
    }

    /** PyTorch's default initialisation of conv and linear layers: U(−1/√fan_in, 1/√fan_in). */
    private static HostTensor uniform(SplittableRandom r, int fanIn, long... shape) {
        int n = 1;
        for (long s : shape) n *= (int) s;
        double bound = 1 / Math.sqrt(fanIn);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        return new HostTensor(shape, v);
    }

    private static HostTensor constant(float value, int n) {
        float[] v = new float[n];
        Arrays.fill(v, value);
        return new HostTensor(new long[]{n}, v);
    }

    private Map<String, NDArray> onDevice(NDManager mgr) {
        Map<String, NDArray> p = new LinkedHashMap<>();
        for (var e : parameters.entrySet()) p.put(e.getKey(), mgr.create(e.getValue().data(), new Shape(e.getValue().shape())));
        return p;
    }

    // ---------------------------------------------------------------- persistence

    public byte[] toSafetensors() {
        Map<String, HostTensor> tensors = new TreeMap<>(parameters);
        int n = referenceConditions.length, t = layout.size();
        float[] c = new float[n * conditionWidth];
        float[] m = new float[n * t];
        float[] s = new float[n * t];
        for (int i = 0; i < n; i++) {
            System.arraycopy(referenceConditions[i], 0, c, i * conditionWidth, conditionWidth);
            for (int j = 0; j < t; j++) {
                m[i * t + j] = (float) referenceMeans[i][j];
                s[i * t + j] = (float) referenceStds[i][j];
            }
        }
        tensors.put("reference.conditions", new HostTensor(new long[]{n, conditionWidth}, c));
        tensors.put("reference.means", new HostTensor(new long[]{n, t}, m));
        tensors.put("reference.stds", new HostTensor(new long[]{n, t}, s));
        Map<String, String> meta = new TreeMap<>();
        meta.put("format", FORMAT);
        meta.put("channels", Arrays.toString(spec.channels()).replaceAll("[\\[\\] ]", ""));
        meta.put("kernel", Integer.toString(spec.kernel()));
        meta.put("latent", Integer.toString(spec.latent()));
        meta.put("kld-weight", Float.toString(spec.kldWeight()));
        meta.put("basis", Integer.toString(spec.basis()));
        meta.put("dimension", Integer.toString(dimension));
        StringBuilder lay = new StringBuilder();
        for (LoraFlattening.Slot sl : layout) {
            if (!lay.isEmpty()) lay.append(';');
            lay.append(sl.key()).append('=').append(Arrays.toString(sl.shape()).replaceAll("[\\[\\] ]", ""));
        }
        meta.put("layout", lay.toString());
        return Safetensors.write(tensors, meta);
    }

    public static IcmLora fromSafetensors(byte[] bytes) {
        Safetensors.SafetensorsFile f = Safetensors.readFloatTensors(bytes);
        Map<String, String> meta = f.metadata();
        if (!FORMAT.equals(meta.get("format"))) throw new IllegalArgumentException("not an ICM-LoRA generator (format " + meta.get("format") + ")");
        int[] channels = Arrays.stream(meta.get("channels").split(",")).mapToInt(Integer::parseInt).toArray();
        Spec spec = new Spec(channels, Integer.parseInt(meta.get("kernel")), Integer.parseInt(meta.get("latent")), Float.parseFloat(meta.get("kld-weight")),
                Integer.parseInt(meta.getOrDefault("basis", "0")));
        List<LoraFlattening.Slot> layout = new ArrayList<>();
        int offset = 0;
        for (String entry : meta.get("layout").split(";")) {
            String[] kv = entry.split("=");
            long[] shape = Arrays.stream(kv[1].split(",")).mapToLong(Long::parseLong).toArray();
            int len = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            layout.add(new LoraFlattening.Slot(kv[0], shape, offset, len, 0, 1));
            offset += len;
        }
        Map<String, HostTensor> tensors = new TreeMap<>(f.tensors());
        HostTensor c = tensors.remove("reference.conditions");
        HostTensor m = tensors.remove("reference.means");
        HostTensor s = tensors.remove("reference.stds");
        int n = c.rows(), dc = c.cols(), t = m.cols();
        float[][] conditions = new float[n][dc];
        double[][] means = new double[n][t], stds = new double[n][t];
        for (int i = 0; i < n; i++) {
            System.arraycopy(c.data(), i * dc, conditions[i], 0, dc);
            for (int j = 0; j < t; j++) {
                means[i][j] = m.data()[i * t + j];
                stds[i][j] = s.data()[i * t + j];
            }
        }
        return new IcmLora(spec, Integer.parseInt(meta.get("dimension")), dc, layout, conditions, means, stds, tensors);
    }
}

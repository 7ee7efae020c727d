package io.lamina.engine.routing;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.serving.LoraBlend;
import io.lamina.engine.serving.MixedAdapterEncoder;

import java.util.ArrayList;
import java.util.List;

/**
 * Task-agnostic routing: each text is embedded under every adapter and answered by one adapter's
 * head, without a task id. Two rules, chosen by what the heads carry:
 * <ul>
 *   <li><b>retrieval</b> (MOS, when every head has {@link PrototypeHead#basePrototypes()}): the text's
 *       class is scored twice over the union of all heads' classes, once by each class's own adapter
 *       ({@code softmax(scale·cos(f_k(x), p_kc))}) and once by the frozen base model against the class
 *       means it had before any adapter ({@code softmax(scale·cos(f_0(x), b_kc))}); the sum picks the
 *       class and with it the adapter. The base model's view does not drift as adapters are added,
 *       which is what keeps old tasks retrievable. MOS then iterates "re-predict with the retrieved
 *       adapter's all-class head"; Lamina's heads only know their own task's classes, so that loop
 *       would stop after one step and is left out; MOS's final ensemble is what remains.</li>
 *   <li><b>most confident</b> (otherwise): the adapter whose best cosine is highest (ties go to the
 *       lower index).</li>
 * </ul>
 * Cosines are bounded and comparable across heads, which is what makes both work. With one adapter
 * both are plain classification. Cost: one mixed-adapter forward ({@link MixedAdapterEncoder}) over
 * the batch replicated once per adapter (plus once for the base model when retrieving).
 */
public final class AdapterRouter {
    private final MixedAdapterEncoder encoder;

    public AdapterRouter(BaseModel base) {
        this(new MixedAdapterEncoder(base));
    }

    public AdapterRouter(MixedAdapterEncoder encoder) {
        this.encoder = encoder;
    }

    /** One prediction per text, in order. */
    public List<RoutedPrediction> predict(List<String> texts, List<Adapter> adapters) {
        requireHeads(adapters);
        int n = texts.size();
        List<long[]> ids = encoder.base().tokenize(texts, BaseModel.DEFAULT_MAX_TOKENS);
        // the batch once per adapter (and once for the base model), as the rows of one mixed batch
        List<LoraBlend> slots = slots(adapters);
        List<long[]> rows = new ArrayList<>(n * slots.size());
        List<LoraBlend> blends = new ArrayList<>(n * slots.size());
        for (LoraBlend blend : slots) {
            for (int i = 0; i < n; i++) {
                rows.add(ids.get(i));
                blends.add(blend);
            }
        }
        float[][] all = encoder.embedTokens(rows, blends);
        return route(all, 0, n, adapters);
    }

    /** True when every adapter's head has base prototypes, so routing retrieves with the base model's view. */
    public static boolean retrieves(List<Adapter> adapters) {
        return adapters.stream().allMatch(a -> a.head() != null && a.head().basePrototypes() != null);
    }

    /**
     * The blends a routed batch needs, in order: each adapter, then (when {@link #retrieves}) the base
     * model as {@code null}. {@link #route} reads embeddings in this order.
     */
    public static List<LoraBlend> slots(List<Adapter> adapters) {
        requireHeads(adapters);
        List<LoraBlend> out = new ArrayList<>(adapters.size() + 1);
        for (Adapter a : adapters) out.add(LoraBlend.of(a));
        if (retrieves(adapters)) out.add(null); // the base model
        return out;
    }

    /**
     * The routing decision for {@code n} texts whose embeddings under {@link #slots}{@code (adapters)}
     * start at row {@code first} of {@code rows}, slot after slot.
     */
    public static List<RoutedPrediction> route(float[][] rows, int first, int n, List<Adapter> adapters) {
        List<float[][]> perAdapter = new ArrayList<>(adapters.size());
        for (int k = 0; k < adapters.size(); k++) perAdapter.add(java.util.Arrays.copyOfRange(rows, first + k * n, first + (k + 1) * n));
        if (!retrieves(adapters)) return mostConfident(perAdapter, adapters);
        float[][] base = java.util.Arrays.copyOfRange(rows, first + adapters.size() * n, first + (adapters.size() + 1) * n);
        return retrieve(perAdapter, base, adapters);
    }

    /** MOS retrieval (see the class comment); every head must have base prototypes. */
    public static List<RoutedPrediction> retrieve(List<float[][]> embeddings, float[][] baseEmbeddings, List<Adapter> adapters) {
        requireHeads(adapters);
        if (embeddings.size() != adapters.size()) throw new IllegalArgumentException(adapters.size() + " adapters but embeddings for " + embeddings.size());
        int total = 0;
        for (Adapter a : adapters) total += a.head().labels().size();
        float[][][] protos = new float[adapters.size()][][];
        float[][][] baseProtos = new float[adapters.size()][][];
        for (int k = 0; k < adapters.size(); k++) {
            PrototypeHead h = adapters.get(k).head();
            if (h.basePrototypes() == null) throw new IllegalArgumentException("adapter " + k + " has no base prototypes to retrieve with");
            protos[k] = normalised(h.prototypes());
            baseProtos[k] = normalised(h.basePrototypes());
        }
        int n = baseEmbeddings.length;
        List<RoutedPrediction> out = new ArrayList<>(n);
        double[] adapterLogits = new double[total];
        double[] baseLogits = new double[total];
        for (int i = 0; i < n; i++) {
            int j = 0;
            for (int k = 0; k < adapters.size(); k++) {
                float scale = adapters.get(k).head().scale();
                float[] e = embeddings.get(k)[i];
                for (int c = 0; c < protos[k].length; c++, j++) {
                    adapterLogits[j] = scale * dot(e, protos[k][c]);
                    baseLogits[j] = scale * dot(baseEmbeddings[i], baseProtos[k][c]);
                }
            }
            double[] pa = softmax(adapterLogits);
            double[] pb = softmax(baseLogits);
            int best = 0;
            for (int c = 1; c < total; c++) {
                if (pa[c] + pb[c] > pa[best] + pb[best]) best = c;
            }
            float[] mass = new float[adapters.size()];
            for (int a = 0, at = 0; a < adapters.size(); a++) {
                for (int cls = 0; cls < protos[a].length; cls++, at++) mass[a] += (float) ((pa[at] + pb[at]) / 2);
            }
            int k = 0, c = best;
            while (c >= protos[k].length) c -= protos[k++].length;
            out.add(new RoutedPrediction(adapters.get(k).head().labels().get(c), k, dot(embeddings.get(k)[i], protos[k][c]), mass));
        }
        return out;
    }

    private static double[] softmax(double[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : logits) max = Math.max(max, v);
        double[] p = new double[logits.length];
        double sum = 0;
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    /**
     * The routing decision given each text's embedding under every adapter:
     * {@code embeddings.get(k)[i]} is text {@code i} under {@code adapters.get(k)}.
     */
    public static List<RoutedPrediction> mostConfident(List<float[][]> embeddings, List<Adapter> adapters) {
        requireHeads(adapters);
        if (embeddings.size() != adapters.size()) throw new IllegalArgumentException(adapters.size() + " adapters but embeddings for " + embeddings.size());
        int n = embeddings.get(0).length;
        float[] bestScore = new float[n];
        int[] bestAdapter = new int[n];
        String[] bestLabel = new String[n];
        float[][] perAdapter = new float[n][adapters.size()];
        java.util.Arrays.fill(bestScore, Float.NEGATIVE_INFINITY);
        for (float[] row : perAdapter) java.util.Arrays.fill(row, Float.NEGATIVE_INFINITY);
        for (int k = 0; k < adapters.size(); k++) {
            PrototypeHead head = adapters.get(k).head();
            float[][] prototypes = normalised(head.prototypes());
            float[][] e = embeddings.get(k);
            if (e.length != n) throw new IllegalArgumentException("adapter " + k + " has " + e.length + " embeddings, adapter 0 has " + n);
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < prototypes.length; c++) {
                    float cos = dot(e[i], prototypes[c]);
                    perAdapter[i][k] = Math.max(perAdapter[i][k], cos);
                    if (cos > bestScore[i]) {
                        bestScore[i] = cos;
                        bestAdapter[i] = k;
                        bestLabel[i] = head.labels().get(c);
                    }
                }
            }
        }
        List<RoutedPrediction> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(new RoutedPrediction(bestLabel[i], bestAdapter[i], bestScore[i], perAdapter[i]));
        return out;
    }

    private static void requireHeads(List<Adapter> adapters) {
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("routing needs at least one adapter");
        for (int k = 0; k < adapters.size(); k++) {
            if (adapters.get(k).head() == null) throw new IllegalArgumentException("adapter " + k + " has no head");
        }
    }

    static float dot(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("head width " + b.length + " does not match embedding width " + a.length);
        float s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** Heads are stored normalised, but a cosine must not depend on that promise. */
    public static float[][] normalised(float[][] rows) {
        float[][] out = new float[rows.length][];
        for (int r = 0; r < rows.length; r++) {
            double sq = 0;
            for (float v : rows[r]) sq += (double) v * v;
            float inv = (float) (1.0 / Math.max(Math.sqrt(sq), 1e-12));
            out[r] = new float[rows[r].length];
            for (int c = 0; c < rows[r].length; c++) out[r][c] = rows[r][c] * inv;
        }
        return out;
    }
}

package io.lamina.engine.routing;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.serving.LoraBlend;
import io.lamina.engine.serving.MixedAdapterEncoder;

import java.util.ArrayList;
import java.util.List;

/**
 * Task-agnostic "most-confident head" routing: each text is embedded under every adapter, scored
 * against that adapter's head prototypes by cosine, and answered by the adapter whose best
 * cosine is highest (ties go to the lower index). Cosines are bounded and comparable across
 * heads, which is what makes this work without knowing the task. With one adapter it is plain
 * classification. Cost: one mixed-adapter forward ({@link MixedAdapterEncoder}) over the batch
 * replicated once per adapter, instead of one forward per adapter; the FLOPs still grow with the
 * number of adapters. (MOS-style retrieval of adapters by embedding comes later and can replace
 * the exhaustive loop.)
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
        // the batch once per adapter, as the rows of one mixed batch
        List<long[]> rows = new ArrayList<>(n * adapters.size());
        List<LoraBlend> blends = new ArrayList<>(n * adapters.size());
        for (Adapter adapter : adapters) {
            LoraBlend blend = LoraBlend.of(adapter);
            for (int i = 0; i < n; i++) {
                rows.add(ids.get(i));
                blends.add(blend);
            }
        }
        float[][] all = encoder.embedTokens(rows, blends);
        List<float[][]> perAdapter = new ArrayList<>(adapters.size());
        for (int k = 0; k < adapters.size(); k++) {
            float[][] e = new float[n][];
            System.arraycopy(all, k * n, e, 0, n);
            perAdapter.add(e);
        }
        return mostConfident(perAdapter, adapters);
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
        java.util.Arrays.fill(bestScore, Float.NEGATIVE_INFINITY);
        for (int k = 0; k < adapters.size(); k++) {
            PrototypeHead head = adapters.get(k).head();
            float[][] prototypes = normalised(head.prototypes());
            float[][] e = embeddings.get(k);
            if (e.length != n) throw new IllegalArgumentException("adapter " + k + " has " + e.length + " embeddings, adapter 0 has " + n);
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < prototypes.length; c++) {
                    float cos = dot(e[i], prototypes[c]);
                    if (cos > bestScore[i]) {
                        bestScore[i] = cos;
                        bestAdapter[i] = k;
                        bestLabel[i] = head.labels().get(c);
                    }
                }
            }
        }
        List<RoutedPrediction> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(new RoutedPrediction(bestLabel[i], bestAdapter[i], bestScore[i]));
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

package io.lamina.engine.routing;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;

import java.util.ArrayList;
import java.util.List;

/**
 * Task-agnostic "most-confident head" routing: each text is embedded under every adapter, scored
 * against that adapter's head prototypes by cosine, and answered by the adapter whose best
 * cosine is highest (ties go to the lower index). Cosines are bounded and comparable across
 * heads, which is what makes this work without knowing the task. With one adapter it is plain
 * classification. Cost: one forward per adapter. (MOS-style retrieval of adapters by embedding
 * comes later and can replace the exhaustive loop.)
 */
public final class AdapterRouter {
    private final BaseModel base;

    public AdapterRouter(BaseModel base) {
        this.base = base;
    }

    /** One prediction per text, in order. */
    public List<RoutedPrediction> predict(List<String> texts, List<Adapter> adapters) {
        if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException("routing needs at least one adapter");
        for (int k = 0; k < adapters.size(); k++) {
            if (adapters.get(k).head() == null) throw new IllegalArgumentException("adapter " + k + " has no head");
        }
        int n = texts.size();
        float[] bestScore = new float[n];
        int[] bestAdapter = new int[n];
        String[] bestLabel = new String[n];
        java.util.Arrays.fill(bestScore, Float.NEGATIVE_INFINITY);
        for (int k = 0; k < adapters.size(); k++) {
            Adapter adapter = adapters.get(k);
            PrototypeHead head = adapter.head();
            float[][] prototypes = normalised(head.prototypes());
            float[][] embeddings = base.embed(texts, adapter);
            for (int i = 0; i < n; i++) {
                for (int c = 0; c < prototypes.length; c++) {
                    float cos = dot(embeddings[i], prototypes[c]);
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

    private static float dot(float[] a, float[] b) {
        if (a.length != b.length) throw new IllegalArgumentException("head width " + b.length + " does not match embedding width " + a.length);
        float s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    /** Heads are stored normalised, but a cosine must not depend on that promise. */
    private static float[][] normalised(float[][] rows) {
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

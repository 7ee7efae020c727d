package io.lamina.engine.hypernetwork;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.model.BaseModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ICM-LoRA's condition for a task, from the frozen base model: the embedding of the task's
 * description, then the normalised mean of its classes' normalised mean embeddings (the
 * "in-context task vector": the reference averages a decoder's last-token states over in-context
 * examples; an encoder's mean-pooled sentence embeddings play that part here, averaged per class
 * first so a skewed sample does not tilt it). Width {@code 2 × hidden}. The class means are what
 * every trained head keeps as its base prototypes, so a registered adapter's condition needs no data.
 */
public final class TaskCondition {
    private TaskCondition() {
    }

    public static int width(int hidden) { return 2 * hidden; }

    /** @param basePrototypes the task's classes' normalised mean embeddings under the frozen base model */
    public static float[] of(BaseModel base, String description, float[][] basePrototypes) {
        if (basePrototypes == null || basePrototypes.length == 0) throw new IllegalArgumentException("a task condition needs the classes' base-model means");
        String text = description == null || description.isBlank() ? "(no description)" : description;
        float[] d = base.embed(List.of(text), null)[0];
        int h = d.length;
        float[] mean = new float[h];
        for (float[] p : basePrototypes) {
            if (p.length != h) throw new IllegalArgumentException("class mean of width " + p.length + ", base model width " + h);
            for (int j = 0; j < h; j++) mean[j] += p[j];
        }
        normalise(mean);
        float[] c = new float[2 * h];
        System.arraycopy(d, 0, c, 0, h);
        System.arraycopy(mean, 0, c, h, h);
        return c;
    }

    /** The condition of a task given by examples: their classes' base-model means. */
    public static float[] of(BaseModel base, String description, List<LabeledText> examples, int maxLength) {
        return of(base, description, classMeans(base, examples, maxLength));
    }

    /** Normalised per-class mean base-model embeddings of {@code examples}, classes in order of first appearance. */
    public static float[][] classMeans(BaseModel base, List<LabeledText> examples, int maxLength) {
        if (examples == null || examples.isEmpty()) throw new IllegalArgumentException("at least one example is needed");
        float[][] e = base.embed(examples.stream().map(LabeledText::text).toList(), null, maxLength);
        Map<String, float[]> sums = new LinkedHashMap<>();
        for (int i = 0; i < e.length; i++) {
            float[] s = sums.computeIfAbsent(examples.get(i).label(), k -> new float[e[0].length]);
            for (int j = 0; j < s.length; j++) s[j] += e[i][j];
        }
        List<float[]> out = new ArrayList<>(sums.values());
        out.forEach(TaskCondition::normalise);
        return out.toArray(new float[0][]);
    }

    static double cosine(float[] a, float[] b) {
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += a[i] * b[i];
            na += a[i] * a[i];
            nb += b[i] * b[i];
        }
        return dot / Math.max(1e-12, Math.sqrt(na * nb));
    }

    private static void normalise(float[] v) {
        double n = 0;
        for (float x : v) n += x * x;
        n = Math.sqrt(n);
        if (n > 0) for (int j = 0; j < v.length; j++) v[j] /= (float) n;
    }
}

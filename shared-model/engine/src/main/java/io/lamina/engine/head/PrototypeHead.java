package io.lamina.engine.head;

import java.util.ArrayList;
import java.util.List;

/**
 * A cosine classifier over the adapted encoder's sentence embedding: logits are
 * {@code scale * cos(embedding, prototype_c)}. Prototypes start as class means and are trained
 * with the adapter. Class-incremental streams add classes by adding rows, never by retraining
 * old ones, and the bounded cosine scores are comparable across adapters, which the router uses.
 *
 * @param prototypes     [labels.size()][hidden] row-major, L2-normalised rows
 * @param basePrototypes the same classes' normalised mean embeddings under the frozen base model (no
 *                       adapter), or {@code null}; the router uses them to retrieve the right adapter
 *                       for an input without a task id (MOS), since they do not depend on any adapter
 */
public record PrototypeHead(List<String> labels, float[][] prototypes, float scale, float[][] basePrototypes) {
    public PrototypeHead {
        if (labels.isEmpty()) throw new IllegalArgumentException("a head needs at least one label");
        if (prototypes.length != labels.size()) throw new IllegalArgumentException("head has " + labels.size() + " labels but " + prototypes.length + " prototypes");
        if (basePrototypes != null && basePrototypes.length != labels.size()) {
            throw new IllegalArgumentException("head has " + labels.size() + " labels but " + basePrototypes.length + " base prototypes");
        }
        labels = List.copyOf(labels);
    }

    public PrototypeHead(List<String> labels, float[][] prototypes, float scale) {
        this(labels, prototypes, scale, null);
    }

    public int hidden() { return prototypes[0].length; }

    /** The label of the nearest prototype (cosine) for each embedding; ties go to the earlier label. */
    public List<String> classify(float[][] embeddings) {
        float[][] p = io.lamina.engine.routing.AdapterRouter.normalised(prototypes);
        List<String> out = new ArrayList<>(embeddings.length);
        for (float[] e : embeddings) {
            int best = 0;
            float bestScore = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < p.length; c++) {
                if (p[c].length != e.length) throw new IllegalArgumentException("head width " + p[c].length + " does not match embedding width " + e.length);
                float s = 0;
                for (int j = 0; j < e.length; j++) s += e[j] * p[c][j];
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
            }
            out.add(labels.get(best));
        }
        return out;
    }

    public PrototypeHead withBasePrototypes(float[][] base) {
        return new PrototypeHead(labels, prototypes, scale, base);
    }

    /**
     * A class-incremental head: {@code older}'s rows, then {@code newer}'s. A label both have keeps
     * {@code newer}'s row (it was computed under the current adapter). Base prototypes survive only
     * when both heads have them.
     */
    public static PrototypeHead grow(PrototypeHead older, PrototypeHead newer) {
        if (older.hidden() != newer.hidden()) throw new IllegalArgumentException("heads of width " + older.hidden() + " and " + newer.hidden() + " cannot be joined");
        boolean base = older.basePrototypes != null && newer.basePrototypes != null;
        List<String> labels = new ArrayList<>();
        List<float[]> rows = new ArrayList<>();
        List<float[]> baseRows = new ArrayList<>();
        for (int c = 0; c < older.labels.size(); c++) {
            if (newer.labels.contains(older.labels.get(c))) continue;
            labels.add(older.labels.get(c));
            rows.add(older.prototypes[c]);
            if (base) baseRows.add(older.basePrototypes[c]);
        }
        for (int c = 0; c < newer.labels.size(); c++) {
            labels.add(newer.labels.get(c));
            rows.add(newer.prototypes[c]);
            if (base) baseRows.add(newer.basePrototypes[c]);
        }
        return new PrototypeHead(labels, rows.toArray(new float[0][]), newer.scale,
                base ? baseRows.toArray(new float[0][]) : null);
    }
}

package io.lamina.engine.head;

import java.util.List;

/**
 * A cosine classifier over the adapted encoder's sentence embedding: logits are
 * {@code scale * cos(embedding, prototype_c)}. Prototypes start as class means and are trained
 * with the adapter. Class-incremental streams add classes by adding rows, never by retraining
 * old ones, and the bounded cosine scores are comparable across adapters, which the router uses.
 *
 * @param prototypes [labels.size()][hidden] row-major, L2-normalised rows
 */
public record PrototypeHead(List<String> labels, float[][] prototypes, float scale) {
    public PrototypeHead {
        if (labels.isEmpty()) throw new IllegalArgumentException("a head needs at least one label");
        if (prototypes.length != labels.size()) throw new IllegalArgumentException("head has " + labels.size() + " labels but " + prototypes.length + " prototypes");
        labels = List.copyOf(labels);
    }

    public int hidden() { return prototypes[0].length; }
}

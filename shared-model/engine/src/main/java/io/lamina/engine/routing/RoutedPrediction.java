package io.lamina.engine.routing;

/**
 * The router's answer for one text.
 *
 * @param label        the best label of the chosen adapter's head
 * @param adapterIndex index of the chosen adapter in the list given to {@link AdapterRouter#predict}
 * @param score        cosine between the text's embedding (under that adapter) and the label's prototype
 * @param routerScores what the router saw for each adapter, in the order given: with retrieval the
 *                     probability mass of its classes (the adapter's and the base model's softmax
 *                     averaged; they sum to 1), otherwise its head's best cosine
 */
public record RoutedPrediction(String label, int adapterIndex, float score, float[] routerScores) {
}

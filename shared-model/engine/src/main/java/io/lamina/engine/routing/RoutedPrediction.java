package io.lamina.engine.routing;

/**
 * The router's answer for one text.
 *
 * @param label        the best label of the chosen adapter's head
 * @param adapterIndex index of the chosen adapter in the list given to {@link AdapterRouter#predict}
 * @param score        cosine between the text's embedding (under that adapter) and the label's prototype
 */
public record RoutedPrediction(String label, int adapterIndex, float score) {
}

package io.lamina.contracts;

/** One labelled example of a text-classification task. */
public record LabeledText(String text, String label) {
}

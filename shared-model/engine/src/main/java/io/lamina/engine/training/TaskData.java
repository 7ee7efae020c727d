package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * One task of a multi-task job ({@link MultiTaskLoraTrainer}): its name (for provenance), labelled examples and
 * its head's classes in head order.
 */
public record TaskData(String name, List<LabeledText> train, List<String> labels) {
    public TaskData {
        if (name == null || name.isBlank()) throw new IllegalArgumentException("a task needs a name");
        if (train == null || train.isEmpty()) throw new IllegalArgumentException("task '" + name + "' needs at least one example");
        if (labels == null || labels.isEmpty()) throw new IllegalArgumentException("task '" + name + "' needs at least one label");
        train = List.copyOf(train);
        labels = List.copyOf(labels);
        Set<String> known = new HashSet<>(labels);
        if (known.size() != labels.size()) throw new IllegalArgumentException("labels must be distinct: " + labels);
        for (LabeledText t : train) {
            if (t == null || t.text() == null) throw new IllegalArgumentException("examples need a text");
            if (!known.contains(t.label())) throw new IllegalArgumentException("example label '" + t.label() + "' is not among " + labels + " of task '" + name + "'");
        }
    }
}

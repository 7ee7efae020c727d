package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;

import java.util.List;

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
        TrainingRequest.checkExamples(train, labels, " of task '" + name + "'");
    }
}

package io.lamina.engine.hypernetwork;

import io.lamina.contracts.LabeledText;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/** Few-shot episodes (support and query examples per class) drawn from labelled tasks, for meta-training. */
final class Episodes {
    private Episodes() {
    }

    /** A task's examples by class, keeping only classes with at least two examples (one support, one query). */
    record Task(String name, Map<String, List<LabeledText>> byLabel) {
    }

    record Episode(List<String> labels, List<LabeledText> support, List<LabeledText> query) {
    }

    static List<Task> usable(List<GenerativeAdapter.EpisodeTask> tasks) {
        List<Task> out = new ArrayList<>();
        for (GenerativeAdapter.EpisodeTask t : tasks) {
            Map<String, List<LabeledText>> byLabel = new LinkedHashMap<>();
            for (LabeledText e : t.examples()) byLabel.computeIfAbsent(e.label(), k -> new ArrayList<>()).add(e);
            byLabel.values().removeIf(list -> list.size() < 2);
            if (byLabel.size() >= 2) out.add(new Task(t.name(), byLabel));
        }
        return out;
    }

    /**
     * One episode: a random task, a random subset of at most {@code maxWays} of its classes, and per
     * class {@code shots} support examples and {@code queryPerClass} query examples, disjoint (a small
     * class gives what it has, keeping at least one query).
     */
    static Episode draw(List<Task> tasks, int maxWays, int shots, int queryPerClass, SplittableRandom random) {
        Task task = tasks.get(random.nextInt(tasks.size()));
        List<String> labels = new ArrayList<>(task.byLabel().keySet());
        shuffle(labels, random);
        if (labels.size() > maxWays) labels = new ArrayList<>(labels.subList(0, maxWays));
        List<LabeledText> support = new ArrayList<>();
        List<LabeledText> query = new ArrayList<>();
        for (String label : labels) {
            List<LabeledText> pool = new ArrayList<>(task.byLabel().get(label));
            shuffle(pool, random);
            int k = Math.min(shots, pool.size() - 1);
            support.addAll(pool.subList(0, k));
            query.addAll(pool.subList(k, Math.min(pool.size(), k + queryPerClass)));
        }
        return new Episode(List.copyOf(labels), support, query);
    }

    private static <T> void shuffle(List<T> list, SplittableRandom random) {
        io.lamina.engine.data.Shuffle.inPlace(list, random::nextInt);
    }
}

package io.lamina.engine.data;

import io.lamina.contracts.LabeledText;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;

/**
 * A deterministic class-incremental benchmark over WordNet noun supersenses: the 25 supersenses are
 * ordered by name, shuffled with the seed, and cut into consecutive groups of {@code classesPerTask};
 * each group is one task. Per class, {@code trainPerClass + testPerClass} distinct definitions are drawn
 * (seeded per class), the first part for training and the rest for testing, so train and test never share a text.
 * Everything depends only on the arguments: the same call gives the same stream on any JVM.
 */
public final class SupersenseStream {

    /**
     * @param taskKey     {@code task-1}, {@code task-2}, ...
     * @param labels      the task's supersenses, e.g. {@code noun.animal}
     * @param train       up to {@code trainPerClass} examples per class, shuffled
     * @param test        up to {@code testPerClass} examples per class, shuffled (a class with fewer
     *                    glosses than both caps keeps their ratio)
     */
    public record TaskData(String taskKey, String name, String description, List<String> labels,
                           List<LabeledText> train, List<LabeledText> test) {
        public TaskData {
            labels = List.copyOf(labels);
            train = List.copyOf(train);
            test = List.copyOf(test);
        }
    }

    private SupersenseStream() {
    }

    /** A stream over the noun supersenses. */
    public static List<TaskData> build(int tasks, int classesPerTask, int trainPerClass, int testPerClass, long seed) {
        return build(WordNetSupersenses.PartOfSpeech.NOUN, tasks, classesPerTask, trainPerClass, testPerClass, seed);
    }

    public static List<TaskData> build(WordNetSupersenses.PartOfSpeech pos, int tasks, int classesPerTask, int trainPerClass,
                                       int testPerClass, long seed) {
        List<String> all = WordNetSupersenses.supersenses(pos);
        java.util.SortedMap<String, List<String>> glosses = WordNetSupersenses.glossesBySupersense(pos);
        String kind = pos.name().toLowerCase(java.util.Locale.ROOT);
        if (tasks < 1) throw new IllegalArgumentException("tasks must be at least 1, got " + tasks);
        if (classesPerTask < 1) throw new IllegalArgumentException("classesPerTask must be at least 1, got " + classesPerTask);
        if ((long) tasks * classesPerTask > all.size()) {
            throw new IllegalArgumentException("tasks * classesPerTask = " + ((long) tasks * classesPerTask) + " exceeds the " + all.size() + " WordNet " + kind + " supersenses");
        }
        if (trainPerClass < 1) throw new IllegalArgumentException("trainPerClass must be at least 1, got " + trainPerClass);
        if (testPerClass < 1) throw new IllegalArgumentException("testPerClass must be at least 1, got " + testPerClass);

        List<String> order = new ArrayList<>(all);
        shuffle(order, new Random(seed));
        int perClass = trainPerClass + testPerClass;
        List<String> used = order.subList(0, tasks * classesPerTask);
        for (String label : used) {
            int available = glosses.get(label).size();
            if (available < 2) throw new IllegalArgumentException("supersense " + label + " has only " + available + " distinct glosses");
        }

        List<TaskData> out = new ArrayList<>(tasks);
        for (int t = 0; t < tasks; t++) {
            List<String> labels = List.copyOf(used.subList(t * classesPerTask, (t + 1) * classesPerTask));
            List<LabeledText> train = new ArrayList<>();
            List<LabeledText> test = new ArrayList<>();
            for (String label : labels) {
                List<String> texts = new ArrayList<>(glosses.get(label));
                // The sizes are caps: a small class (noun.motive has 42 glosses) keeps the train:test ratio.
                int take = Math.min(perClass, texts.size());
                int testCount = take == perClass ? testPerClass : Math.max(1, Math.round((float) take * testPerClass / perClass));
                Random rnd = new Random(mix(seed, label.hashCode()));
                partialShuffle(texts, take, rnd);
                for (int i = 0; i < take - testCount; i++) train.add(new LabeledText(texts.get(i), label));
                for (int i = take - testCount; i < take; i++) test.add(new LabeledText(texts.get(i), label));
            }
            Random taskRnd = new Random(mix(seed, 0x5EED0000L + t));
            shuffle(train, taskRnd);
            shuffle(test, taskRnd);
            String names = labels.stream().map(WordNetSupersenses::shortName).collect(Collectors.joining(", "));
            out.add(new TaskData("task-" + (t + 1), "WordNet " + (pos == WordNetSupersenses.PartOfSpeech.NOUN ? "" : kind + " ") + "supersenses " + (t + 1) + ": " + names,
                    "Classify WordNet " + kind + " glosses by supersense: " + names + ".", labels, train, test));
        }
        return List.copyOf(out);
    }

    /** Fisher-Yates with {@link Random#nextInt(int)}, whose sequence the Java spec fixes. */
    private static <T> void shuffle(List<T> list, Random rnd) {
        Shuffle.inPlace(list, rnd::nextInt);
    }

    /** Puts a uniform random sample of {@code k} elements, in random order, at the front of the list. */
    private static <T> void partialShuffle(List<T> list, int k, Random rnd) {
        for (int i = 0; i < k; i++) {
            int j = i + rnd.nextInt(list.size() - i);
            T tmp = list.get(i);
            list.set(i, list.get(j));
            list.set(j, tmp);
        }
    }

    private static long mix(long seed, long salt) {
        long z = seed * 0x9E3779B97F4A7C15L + salt;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}

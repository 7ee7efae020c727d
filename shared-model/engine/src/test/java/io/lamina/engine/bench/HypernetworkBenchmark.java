package io.lamina.engine.bench;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.data.SupersenseStream.TaskData;
import io.lamina.engine.data.WordNetSupersenses.PartOfSpeech;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.hypernetwork.AdapterGeneration;
import io.lamina.engine.hypernetwork.GenerativeAdapter;
import io.lamina.engine.hypernetwork.IcmLora;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.ProgressListener;
import io.lamina.engine.training.Trajectory;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Adapters generated for held-back WordNet tasks (classes no generator has seen) against the base
 * model, the nearest registered adapter and trained LoRA. Generators learn from 7 tasks: noun
 * supersense tasks 1–4 and verb tasks 1–3 (their trained LoRAs, with 4 trajectory snapshots each,
 * for ICM-LoRA; their training data for GenerativeAdapter); the 8 classes of noun tasks 5 and 6 are
 * held back as one task.
 * Every row's head is the same recipe (class means of the task's training examples under the
 * row's adapter), so rows differ only in the adapter's weights. Not a test:
 * <pre>
 * ./mvnw -q -o -pl shared-model/engine exec:java -Dexec.mainClass=io.lamina.engine.bench.HypernetworkBenchmark -Dexec.classpathScope=test -Dexec.args="SEEDS TRAIN TEST EPISODES"
 * </pre>
 * defaults: 3 seeds, 60 training and 30 test examples per class, 200 meta-training episodes.
 */
public final class HypernetworkBenchmark {
    private static final int MAX_LENGTH = 64;
    private static final int FULL_EPOCHS = 4;

    private HypernetworkBenchmark() {
    }

    public static void main(String[] args) {
        int seeds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int trainPerClass = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        int testPerClass = args.length > 2 ? Integer.parseInt(args[2]) : 30;
        int episodes = args.length > 3 ? Integer.parseInt(args[3]) : 200;
        BaseModel base = BaseModel.miniLm();
        LoraTrainer trainer = new LoraTrainer(base);
        Map<String, List<Double>> accuracy = new LinkedHashMap<>();
        Map<String, List<Double>> millis = new LinkedHashMap<>();
        List<String> notes = new ArrayList<>();
        for (long seed = 1; seed <= seeds; seed++) {
            List<TaskData> nouns = SupersenseStream.build(6, 4, trainPerClass, testPerClass, seed);
            List<TaskData> verbs = SupersenseStream.build(PartOfSpeech.VERB, 3, 5, trainPerClass, testPerClass, seed);
            List<TaskData> seen = new ArrayList<>(nouns.subList(0, 4));
            seen.addAll(verbs);
            // held back: one 8-way task of the classes of noun tasks 5 and 6 (harder than either, so training has room to help)
            List<TaskData> heldBack = List.of(merged(nouns.get(4), nouns.get(5)));
            TrainingSpec spec = TrainingSpec.defaults().withSeed(seed);

            // the registry: a trained LoRA per seen task, with its trajectory
            long t0 = System.nanoTime();
            List<Adapter> registry = new ArrayList<>();
            List<IcmLora.Checkpoint> checkpoints = new ArrayList<>();
            for (TaskData t : seen) {
                Trajectory trajectory = Trajectory.keep(4);
                Adapter a = trainer.train(new TrainingRequest(t.train(), t.labels(), LoraSpec.defaults(), spec, null, null, null,
                        Map.of(), null, null, trajectory));
                registry.add(a);
                checkpoints.addAll(AdapterGeneration.icmCheckpoints(base, a, t.description(), trajectory.snapshots()));
            }
            double registrySeconds = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            float[] icmLoss = {Float.NaN};
            IcmLora icm = IcmLora.train(IcmLora.Spec.defaults(), checkpoints, IcmLora.Training.defaults().withSteps(400), p -> icmLoss[0] = p.loss());
            double icmSeconds = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            List<GenerativeAdapter.EpisodeTask> episodeTasks = seen.stream().map(t -> new GenerativeAdapter.EpisodeTask(t.name(), t.train())).toList();
            GenerativeAdapter ga = GenerativeAdapter.metaTrain(base, GenerativeAdapter.Spec.defaults(), episodeTasks,
                    GenerativeAdapter.MetaTraining.defaults().withEpisodes(episodes).withSeed(seed), p -> {
                        if (p.step() % 25 == 0) System.out.printf(Locale.ROOT, "  meta-training episode %d/%d, loss %.3f%n", p.step(), p.totalSteps(), p.loss());
                    });
            double gaSeconds = (System.nanoTime() - t0) / 1e9;
            notes.add(String.format(Locale.ROOT, "seed %d: registry of %d LoRAs (%d ICM checkpoints) %.0f s; ICM-LoRA training %.0f s (%,d parameters, final loss %.3f); "
                    + "GenerativeAdapter meta-training %.0f s (%,d parameters, %d episodes)", seed, registry.size(), checkpoints.size(),
                    registrySeconds, icmSeconds, icm.parameterCount(), icmLoss[0], gaSeconds, ga.parameterCount(), episodes));

            // sanity on a task the generators have seen: ICM-LoRA should give back (nearly) its own adapter
            TaskData known = seen.get(0);
            List<String> knownTexts = known.test().stream().map(LabeledText::text).toList();
            add(accuracy, "(seen task) base model + prototype head", accuracy(prototypeHeadOfBase(base, known), base.embed(knownTexts, null), known.test()));
            add(accuracy, "(seen task) its trained LoRA", evaluate(base, registry.get(0), known, knownTexts));
            add(accuracy, "(seen task) ICM-LoRA", evaluate(base, AdapterGeneration.fromDescription(base, icm, "icm", LoraSpec.defaults(),
                    known.description(), known.train(), 0f, 0L, MAX_LENGTH).adapter(), known, knownTexts));
            add(accuracy, "(seen task) GenerativeAdapter, K = 16", evaluate(base, AdapterGeneration.fromExamples(base, ga, "ga",
                    AdapterGeneration.perClass(known.train(), 16, seed), known.train(), MAX_LENGTH).adapter(), known, knownTexts));

            for (TaskData task : heldBack) {
                List<String> testTexts = task.test().stream().map(LabeledText::text).toList();
                // (a) base model with a prototype head
                PrototypeHead baseHead = prototypeHeadOfBase(base, task);
                add(accuracy, "(a) base model + prototype head", accuracy(baseHead, base.embed(testTexts, null), task.test()));
                // (b) nearest registered adapter (by description), with this task's head
                long s = System.nanoTime();
                Adapter nearest = nearest(base, registry, seen, task.description());
                add(millis, "(b) nearest registered adapter", (System.nanoTime() - s) / 1e6);
                Adapter nearestHere = nearest.withHead(trainer.prototypeHead(nearest, task.train(), task.labels(), MAX_LENGTH, 0L));
                add(accuracy, "(b) nearest registered adapter", evaluate(base, nearestHere, task, testTexts));
                // (c) ICM-LoRA from the description and the training examples' classes
                AdapterGeneration.Generated icmAdapter = AdapterGeneration.fromDescription(base, icm, "icm", LoraSpec.defaults(),
                        task.description(), task.train(), 0f, 0L, MAX_LENGTH);
                add(millis, "(c) ICM-LoRA", icmAdapter.weightsNanos() / 1e6);
                add(accuracy, "(c) ICM-LoRA", evaluate(base, icmAdapter.adapter(), task, testTexts));
                // (d) GenerativeAdapter from K examples per class
                AdapterGeneration.Generated ga16 = null;
                for (int k : new int[]{4, 16, 64}) {
                    List<LabeledText> context = AdapterGeneration.perClass(task.train(), k, seed);
                    AdapterGeneration.Generated g = AdapterGeneration.fromExamples(base, ga, "ga", context, task.train(), MAX_LENGTH);
                    String row = "(d) GenerativeAdapter, K = " + k + " per class";
                    add(millis, row, g.weightsNanos() / 1e6);
                    add(accuracy, row, evaluate(base, g.adapter(), task, testTexts));
                    if (k == 16) ga16 = g;
                }
                // (e) trained LoRA: the full budget, and a quarter of it
                TrainingSpec full = spec.withEpochs(FULL_EPOCHS);
                TrainingSpec quarter = spec.withEpochs(1);
                s = System.nanoTime();
                Adapter trained = trainer.train(new TrainingRequest(task.train(), task.labels(), LoraSpec.defaults(), full, null, null, null, Map.of()));
                add(millis, "(e) trained LoRA, " + FULL_EPOCHS + " epochs (S steps)", (System.nanoTime() - s) / 1e6);
                add(accuracy, "(e) trained LoRA, " + FULL_EPOCHS + " epochs (S steps)", evaluate(base, trained, task, testTexts));
                s = System.nanoTime();
                Adapter short1 = trainer.train(new TrainingRequest(task.train(), task.labels(), LoraSpec.defaults(), quarter, null, null, null, Map.of()));
                add(millis, "(e') trained LoRA, S/4 steps", (System.nanoTime() - s) / 1e6);
                add(accuracy, "(e') trained LoRA, S/4 steps", evaluate(base, short1, task, testTexts));
                // (f) generated, then fine-tuned for a quarter of the steps
                s = System.nanoTime();
                Adapter tunedGa = trainer.train(new TrainingRequest(task.train(), task.labels(), LoraSpec.defaults(), quarter, ga16.adapter(), null, null, Map.of()));
                add(millis, "(f) GenerativeAdapter K = 16, then S/4 steps", (System.nanoTime() - s) / 1e6);
                add(accuracy, "(f) GenerativeAdapter K = 16, then S/4 steps", evaluate(base, tunedGa, task, testTexts));
                Adapter tunedIcm = trainer.train(new TrainingRequest(task.train(), task.labels(), LoraSpec.defaults(), quarter, icmAdapter.adapter(), null, null, Map.of()));
                add(accuracy, "(f) ICM-LoRA, then S/4 steps", evaluate(base, tunedIcm, task, testTexts));
                Adapter tunedNearest = trainer.train(new TrainingRequest(task.train(), task.labels(), LoraSpec.defaults(), quarter, nearest, null, null, Map.of()));
                add(accuracy, "(f) nearest adapter, then S/4 steps", evaluate(base, tunedNearest, task, testTexts));
            }
            System.out.println(notes.get(notes.size() - 1));
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "Held-back WordNet noun task (8 classes no generator saw, %d train / %d test per class), %d seeds%n",
                trainPerClass, testPerClass, seeds);
        System.out.println("| adapter | accuracy % (mean ± sd over seeds) | time to produce the adapter (ms, median) |");
        System.out.println("|---|---|---|");
        for (var e : accuracy.entrySet()) {
            List<Double> ms = millis.get(e.getKey());
            System.out.printf(Locale.ROOT, "| %s | %.1f ± %.1f | %s |%n", e.getKey(), 100 * mean(e.getValue()), 100 * sd(e.getValue()),
                    ms == null ? "–" : String.format(Locale.ROOT, "%.0f", median(ms)));
        }
        notes.forEach(System.out::println);
    }

    private static TaskData merged(TaskData a, TaskData b) {
        List<String> labels = new ArrayList<>(a.labels());
        labels.addAll(b.labels());
        List<LabeledText> train = new ArrayList<>(a.train());
        train.addAll(b.train());
        List<LabeledText> test = new ArrayList<>(a.test());
        test.addAll(b.test());
        return new TaskData(a.taskKey() + "+" + b.taskKey(), a.name() + " and " + b.name(),
                a.description() + "; " + b.description(), labels, train, test);
    }

    private static PrototypeHead prototypeHeadOfBase(BaseModel base, TaskData task) {
        float[][] e = base.embed(task.train().stream().map(LabeledText::text).toList(), null, MAX_LENGTH);
        int h = e[0].length;
        float[][] means = new float[task.labels().size()][h];
        for (int i = 0; i < e.length; i++) {
            float[] m = means[task.labels().indexOf(task.train().get(i).label())];
            for (int j = 0; j < h; j++) m[j] += e[i][j];
        }
        return new PrototypeHead(task.labels(), means, LoraTrainer.HEAD_SCALE);
    }

    private static Adapter nearest(BaseModel base, List<Adapter> registry, List<TaskData> seen, String description) {
        float[] q = base.embed(List.of(description), null)[0];
        int best = 0;
        double bestScore = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < seen.size(); i++) {
            float[] d = base.embed(List.of(seen.get(i).description()), null)[0];
            double s = 0;
            for (int j = 0; j < q.length; j++) s += q[j] * d[j];
            if (s > bestScore) {
                bestScore = s;
                best = i;
            }
        }
        return registry.get(best);
    }

    private static double evaluate(BaseModel base, Adapter adapter, TaskData task, List<String> testTexts) {
        return accuracy(adapter.head(), base.embed(testTexts, adapter), task.test());
    }

    private static double accuracy(PrototypeHead head, float[][] embeddings, List<LabeledText> test) {
        List<String> predicted = head.classify(embeddings);
        int right = 0;
        for (int i = 0; i < test.size(); i++) if (predicted.get(i).equals(test.get(i).label())) right++;
        return right / (double) test.size();
    }

    private static void add(Map<String, List<Double>> m, String key, double v) {
        m.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
    }

    private static double mean(List<Double> v) {
        return v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    private static double sd(List<Double> v) {
        double m = mean(v);
        return Math.sqrt(v.stream().mapToDouble(x -> (x - m) * (x - m)).sum() / Math.max(1, v.size() - 1));
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        java.util.Collections.sort(s);
        return s.get(s.size() / 2);
    }
}

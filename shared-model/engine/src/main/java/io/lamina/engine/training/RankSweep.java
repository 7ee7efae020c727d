package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.model.BaseModel;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * AdapterTune's "rank as capacity" (METHODS.md §1): train a set of ranks over seeds on most of a
 * task's training data, score each on the held-out rest, and pick the elbow: the smallest rank whose
 * mean validation accuracy is within a tolerance of the best rank's. Every candidate keeps the
 * request's scaling {@code alpha / r}, so ranks differ in capacity only.
 */
public final class RankSweep {
    /** Every this-many examples of a class (in order), one goes to validation. */
    static final int VALIDATION_EVERY = 5;

    public record Settings(List<Integer> ranks, int seeds, double tolerance) {
        public Settings {
            if (ranks == null || ranks.isEmpty()) throw new IllegalArgumentException("a rank sweep needs at least one rank");
            for (int r : ranks) if (r < 1 || r > 256) throw new IllegalArgumentException("sweep ranks must be in [1, 256], got " + r);
            if (seeds < 1 || seeds > 10) throw new IllegalArgumentException("sweep seeds must be in [1, 10], got " + seeds);
            if (!(tolerance >= 0 && tolerance <= 1)) throw new IllegalArgumentException("sweep tolerance must be in [0, 1], got " + tolerance);
            ranks = ranks.stream().distinct().sorted().toList();
        }

        public static Settings defaults() {
            return new Settings(List.of(2, 4, 8, 16), 1, 0.01);
        }
    }

    /** One rank's validation accuracies, one per seed. */
    public record Point(int rank, List<Double> accuracies) {
        public double mean() {
            return accuracies.stream().mapToDouble(Double::doubleValue).average().orElse(0);
        }
    }

    public record Result(List<Point> points, int chosenRank, double bestMean, double tolerance) {
        /** For provenance, e.g. {@code r2=0.700 r4=0.733 r8=0.740; chosen 4 (tolerance 0.010)}. */
        public String summary() {
            return points.stream().map(p -> String.format(Locale.ROOT, "r%d=%.3f", p.rank(), p.mean())).collect(Collectors.joining(" "))
                    + String.format(Locale.ROOT, "; chosen %d (tolerance %.3f)", chosenRank, tolerance);
        }
    }

    private final BaseModel base;
    private final LoraTrainer trainer;

    public RankSweep(BaseModel base) {
        this.base = base;
        this.trainer = new LoraTrainer(base);
    }

    /** Sweeps the ranks for {@code request} (its LoRA spec gives alpha/r, dropout and targets; checkpoints are not used). */
    public Result run(TrainingRequest request, Settings settings) {
        List<LabeledText> fit = new ArrayList<>(), validation = new ArrayList<>();
        split(request.train(), fit, validation);
        if (validation.isEmpty() || fit.isEmpty()) throw new IllegalArgumentException("a rank sweep needs at least 2 examples of some class");
        LoraSpec template = request.lora();
        List<Point> points = new ArrayList<>();
        for (int rank : settings.ranks()) {
            LoraSpec spec = new LoraSpec(rank, template.scaling() * rank, template.dropout(), template.targetModules(), false);
            List<Double> accuracies = new ArrayList<>();
            for (int s = 0; s < settings.seeds(); s++) {
                TrainingSpec ts = request.training().withSeed(request.training().seed() + s).withCheckpointEvery(0);
                Adapter a = trainer.train(new TrainingRequest(fit, request.labels(), spec, ts, null, request.listener(), null, Map.of()));
                accuracies.add(accuracy(a, validation));
            }
            points.add(new Point(rank, List.copyOf(accuracies)));
        }
        return choose(points, settings.tolerance());
    }

    /** The elbow: the smallest rank whose mean is within {@code tolerance} of the best mean. */
    public static Result choose(List<Point> points, double tolerance) {
        double best = points.stream().mapToDouble(Point::mean).max().orElseThrow();
        int chosen = points.stream().filter(p -> p.mean() >= best - tolerance - 1e-12).mapToInt(Point::rank).min().orElseThrow();
        return new Result(List.copyOf(points), chosen, best, tolerance);
    }

    /** Deterministic: every {@value #VALIDATION_EVERY}th example of each class (from its 2nd on) is held out. */
    static void split(List<LabeledText> train, List<LabeledText> fit, List<LabeledText> validation) {
        Map<String, Integer> seen = new HashMap<>();
        for (LabeledText t : train) {
            int k = seen.merge(t.label(), 1, Integer::sum);
            (k % VALIDATION_EVERY == 2 ? validation : fit).add(t);
        }
    }

    private double accuracy(Adapter adapter, List<LabeledText> validation) {
        return fractionCorrect(adapter.head().classify(base.embed(validation.stream().map(LabeledText::text).toList(), adapter)), validation);
    }

    /** The share of {@code examples} whose label is the one predicted at the same position. */
    public static double fractionCorrect(List<String> predicted, List<LabeledText> examples) {
        int correct = 0;
        for (int i = 0; i < examples.size(); i++) if (predicted.get(i).equals(examples.get(i).label())) correct++;
        return examples.isEmpty() ? 0 : (double) correct / examples.size();
    }
}

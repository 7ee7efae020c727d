package io.lamina.evaluation.domain;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.routing.AdapterRouter;
import io.lamina.engine.routing.RoutedPrediction;
import org.springframework.stereotype.Component;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Scores on a test split: an adapter set (each input goes to the adapter the router picks; with
 * a single adapter, that adapter and its own head), or the frozen base model with a fresh
 * prototype head (class means of the train split) — the reference forward transfer is measured
 * against.
 */
@Component
public class TestSplitScorer {
    private final AdapterRouter router;
    private final BaseModel base;

    TestSplitScorer(AdapterRouter router, BaseModel base) {
        this.router = router;
        this.base = base;
    }

    /** Per example: whether the adapter set predicts its label. */
    public boolean[] correct(List<Adapter> adapters, List<LabeledText> test) {
        List<RoutedPrediction> predictions = router.predict(test.stream().map(LabeledText::text).toList(), adapters);
        boolean[] out = new boolean[test.size()];
        for (int i = 0; i < out.length; i++) out[i] = predictions.get(i).label().equals(test.get(i).label());
        return out;
    }

    public double accuracy(List<Adapter> adapters, List<LabeledText> test) {
        return test.isEmpty() ? 0.0 : fraction(correct(adapters, test));
    }

    /** Accuracy of the base model with a nearest-class-mean cosine head fitted on {@code train}. */
    public double baseAccuracy(List<LabeledText> train, List<LabeledText> test) {
        if (test.isEmpty() || train.isEmpty()) return 0.0;
        float[][] trainEmbeddings = base.embed(train.stream().map(LabeledText::text).toList(), null);
        Map<String, double[]> means = new LinkedHashMap<>();
        for (int i = 0; i < train.size(); i++) {
            double[] sum = means.computeIfAbsent(train.get(i).label(), k -> new double[trainEmbeddings[0].length]);
            for (int d = 0; d < sum.length; d++) sum[d] += trainEmbeddings[i][d];
        }
        List<String> labels = List.copyOf(means.keySet());
        float[][] prototypes = new float[labels.size()][];
        for (int c = 0; c < prototypes.length; c++) {
            double[] sum = means.get(labels.get(c));
            prototypes[c] = new float[sum.length];
            for (int d = 0; d < sum.length; d++) prototypes[c][d] = (float) sum[d];
        }
        List<String> predicted = new PrototypeHead(labels, prototypes, 1f)
                .classify(base.embed(test.stream().map(LabeledText::text).toList(), null));
        boolean[] correct = new boolean[test.size()];
        for (int i = 0; i < correct.length; i++) correct[i] = test.get(i).label().equals(predicted.get(i));
        return fraction(correct);
    }

    static double fraction(boolean[] flags) {
        if (flags.length == 0) return 0.0;
        int n = 0;
        for (boolean f : flags) if (f) n++;
        return (double) n / flags.length;
    }
}

package io.lamina.evaluation.domain;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.routing.AdapterRouter;
import io.lamina.engine.routing.RoutedPrediction;
import org.springframework.stereotype.Component;

import java.util.List;

/**
 * Accuracy of an adapter set on a test split: each input goes to the adapter the router picks
 * (with a single adapter, that adapter and its own head).
 */
@Component
public class TestSplitScorer {
    private final AdapterRouter router;

    TestSplitScorer(AdapterRouter router) {
        this.router = router;
    }

    public double accuracy(List<Adapter> adapters, List<LabeledText> test) {
        if (test.isEmpty()) return 0.0;
        List<RoutedPrediction> predictions = router.predict(test.stream().map(LabeledText::text).toList(), adapters);
        int correct = 0;
        for (int i = 0; i < test.size(); i++) if (predictions.get(i).label().equals(test.get(i).label())) correct++;
        return (double) correct / test.size();
    }
}

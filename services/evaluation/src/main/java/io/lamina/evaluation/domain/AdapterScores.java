package io.lamina.evaluation.domain;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.support.AdapterLoader;
import io.lamina.support.ServiceClients;
import org.springframework.stereotype.Service;

import java.util.ArrayList;
import java.util.List;

/**
 * Scores adapters one by one (each alone, with its own head) on datasets' test splits: how a
 * merged adapter compares with its inputs, or an imported adapter with a trained one.
 */
@Service
public class AdapterScores {
    public static final int MAX_ADAPTERS = 20;
    public static final int MAX_DATASETS = 20;

    private final TestSplitScorer scorer;
    private final AdapterLoader adapters;
    private final ServiceClients clients;

    AdapterScores(TestSplitScorer scorer, AdapterLoader adapters, ServiceClients clients) {
        this.scorer = scorer;
        this.adapters = adapters;
        this.clients = clients;
    }

    /** @param accuracy [adapter][dataset] in [0, 1] */
    public record Scores(List<String> adapterIds, List<String> datasetIds, List<List<Double>> accuracy) {
    }

    public Scores score(List<String> adapterIds, List<String> datasetIds) {
        if (adapterIds == null || adapterIds.isEmpty() || adapterIds.size() > MAX_ADAPTERS) {
            throw new IllegalArgumentException("adapterIds must list 1 to " + MAX_ADAPTERS + " adapters");
        }
        if (datasetIds == null || datasetIds.isEmpty() || datasetIds.size() > MAX_DATASETS) {
            throw new IllegalArgumentException("datasetIds must list 1 to " + MAX_DATASETS + " datasets");
        }
        List<List<LabeledText>> tests = datasetIds.stream().map(id -> clients.dataset(id).test()).toList();
        List<List<Double>> accuracy = new ArrayList<>();
        for (String adapterId : adapterIds) {
            Adapter adapter = adapters.load(adapterId);
            List<Double> row = new ArrayList<>();
            for (List<LabeledText> test : tests) {
                row.add(scorer.accuracy(List.of(adapter), test));
            }
            accuracy.add(row);
        }
        return new Scores(adapterIds, datasetIds, accuracy);
    }
}

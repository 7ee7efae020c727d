package io.lamina.composition.domain;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.routing.AdapterRouter;
import io.lamina.engine.routing.RoutedPrediction;
import io.lamina.support.AdapterLoader;
import io.lamina.support.ServiceClients;
import org.springframework.stereotype.Service;

import java.util.ArrayList;
import java.util.List;
import java.util.NoSuchElementException;

/** Serves a stream: routes each input among the stream's promoted adapters, without a task id. */
@Service
public class Predictor {
    public static final int MAX_TEXTS = 256;
    public static final int MAX_TEXT_CHARS = 5_000;

    private final AdapterRouter router;
    private final AdapterLoader loader;
    private final ServiceClients clients;

    Predictor(AdapterRouter router, AdapterLoader loader, ServiceClients clients) {
        this.router = router;
        this.loader = loader;
        this.clients = clients;
    }

    public record Prediction(String label, String adapterId, double score) {
    }

    public List<Prediction> predict(String streamId, List<String> texts) {
        if (texts == null || texts.isEmpty()) throw new IllegalArgumentException("texts must hold at least one text");
        if (texts.size() > MAX_TEXTS) throw new IllegalArgumentException("at most " + MAX_TEXTS + " texts per request, got " + texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            if (t == null || t.isBlank()) throw new IllegalArgumentException("texts[" + i + "] is blank");
            if (t.length() > MAX_TEXT_CHARS) throw new IllegalArgumentException("texts[" + i + "] is longer than " + MAX_TEXT_CHARS + " characters");
        }
        List<ServiceClients.AdapterEntry> entries = clients.adapters(streamId, "PROMOTED");
        if (entries.isEmpty()) throw new NoSuchElementException("stream '" + streamId + "' has no promoted adapter yet");
        List<Adapter> adapters = entries.stream().map(e -> loader.load(e.adapterId())).toList();
        List<RoutedPrediction> routed = router.predict(texts, adapters);
        List<Prediction> out = new ArrayList<>(routed.size());
        for (RoutedPrediction p : routed) out.add(new Prediction(p.label(), entries.get(p.adapterIndex()).adapterId(), p.score()));
        return out;
    }
}

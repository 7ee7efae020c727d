package io.lamina.composition.domain;

import io.lamina.contracts.MergeRequest.WeightedAdapter;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.serving.Composer;
import io.lamina.support.AdapterLoader;
import io.lamina.support.ServiceClients;
import org.springframework.stereotype.Service;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.NoSuchElementException;

/**
 * Serves predictions. A stream's predictions route each input among the stream's promoted
 * adapters without a task id; an explicit request names its adapters (any stream's, merged or
 * imported) and how to combine them. Either way every adapter involved runs in one mixed-adapter
 * forward pass.
 */
@Service
public class Predictor {
    public static final int MAX_TEXTS = 256;
    public static final int MAX_TEXT_CHARS = 5_000;
    public static final int MAX_ADAPTERS = 64;

    private final Composer composer;
    private final AdapterLoader loader;
    private final ServiceClients clients;
    private final BaseModel base;

    Predictor(Composer composer, AdapterLoader loader, ServiceClients clients, BaseModel base) {
        this.composer = composer;
        this.loader = loader;
        this.clients = clients;
        this.base = base;
    }

    /**
     * @param model      the base model's id
     * @param adapterId  the adapter applied, or {@code null} for the base model alone
     * @param embeddings one mean-pooled, L2-normalised sentence vector per text
     */
    public record Embeddings(String model, String adapterId, int dimension, List<float[]> embeddings) {
    }

    /**
     * The encoder's sentence vectors, from the base model or with a registered adapter applied (LoRA
     * merged into the projections, MoRA unmerged): how a user checks that an adapter, e.g. one imported
     * from PEFT, behaves as it does elsewhere.
     */
    public Embeddings embed(List<String> texts, String adapterIdOrNull) {
        checkTexts(texts);
        Adapter adapter = adapterIdOrNull == null ? null : loader.load(adapterIdOrNull);
        float[][] vectors = base.embed(texts, adapter);
        return new Embeddings(base.id(), adapterIdOrNull, base.hiddenSize(), List.of(vectors));
    }

    /**
     * @param adapterIds   the adapters that produced the embedding; {@code adapterId} is the one whose head answered
     * @param routerScores routed predictions: the router's score of every candidate adapter (see
     *                     {@code RoutedPrediction#routerScores}); absent otherwise
     */
    @com.fasterxml.jackson.annotation.JsonInclude(com.fasterxml.jackson.annotation.JsonInclude.Include.NON_NULL)
    public record Prediction(String label, String adapterId, double score, List<String> adapterIds, Map<String, Double> routerScores) {
    }

    public List<Prediction> predictForStream(String streamId, List<String> texts) {
        checkTexts(texts);
        List<ServiceClients.AdapterEntry> entries = clients.adapters(streamId, "PROMOTED");
        if (entries.isEmpty()) throw new NoSuchElementException("stream '" + streamId + "' has no promoted adapter yet");
        List<String> ids = entries.stream().map(ServiceClients.AdapterEntry::adapterId).toList();
        List<Adapter> adapters = ids.stream().map(loader::load).toList();
        return answer(composer.predict(texts, Composer.Composition.routed(adapters)), ids);
    }

    public List<Prediction> predict(List<String> texts, List<WeightedAdapter> chosen, String mode) {
        checkTexts(texts);
        if (chosen == null || chosen.isEmpty()) throw new IllegalArgumentException("adapters must list at least one {id, weight}");
        if (chosen.size() > MAX_ADAPTERS) throw new IllegalArgumentException("at most " + MAX_ADAPTERS + " adapters per request");
        Composer.Mode m = mode(mode, chosen.size());
        List<String> ids = new ArrayList<>();
        List<Adapter> adapters = new ArrayList<>();
        float[] weights = new float[chosen.size()];
        for (int i = 0; i < chosen.size(); i++) {
            WeightedAdapter a = chosen.get(i);
            if (a == null || a.id() == null) throw new IllegalArgumentException("adapters[" + i + "].id is required");
            double w = a.weight() == null ? 1.0 : a.weight();
            if (!Double.isFinite(w)) throw new IllegalArgumentException("adapters[" + i + "].weight must be a finite number");
            weights[i] = (float) w;
            ids.add(a.id());
            try {
                adapters.add(loader.load(a.id()));
            } catch (NoSuchElementException | IllegalArgumentException e) {
                throw new IllegalArgumentException("adapters[" + i + "]: " + e.getMessage());
            }
        }
        if (m == Composer.Mode.SINGLE && adapters.size() != 1) {
            throw new IllegalArgumentException("mode single takes exactly one adapter, got " + adapters.size());
        }
        Composer.Composition composition = new Composer.Composition(m, adapters, m == Composer.Mode.WEIGHTED_SUM ? weights : null);
        return answer(composer.predict(texts, composition), ids);
    }

    private static Composer.Mode mode(String mode, int adapters) {
        if (mode == null) return adapters == 1 ? Composer.Mode.SINGLE : Composer.Mode.ROUTED;
        try {
            return Composer.Mode.valueOf(mode.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("mode must be one of single, weighted_sum, stack, routed; got '" + mode + "'");
        }
    }

    private static List<Prediction> answer(List<Composer.Prediction> predictions, List<String> ids) {
        List<Prediction> out = new ArrayList<>(predictions.size());
        for (Composer.Prediction p : predictions) {
            Map<String, Double> router = null;
            if (p.routerScores() != null) {
                router = new java.util.LinkedHashMap<>();
                for (int k = 0; k < p.routerScores().length; k++) router.put(ids.get(k), (double) p.routerScores()[k]);
            }
            out.add(new Prediction(p.label(), ids.get(p.headAdapter()), p.score(), p.adapters().stream().map(ids::get).toList(), router));
        }
        return out;
    }

    private static void checkTexts(List<String> texts) {
        if (texts == null || texts.isEmpty()) throw new IllegalArgumentException("texts must hold at least one text");
        if (texts.size() > MAX_TEXTS) throw new IllegalArgumentException("at most " + MAX_TEXTS + " texts per request, got " + texts.size());
        for (int i = 0; i < texts.size(); i++) {
            String t = texts.get(i);
            if (t == null || t.isBlank()) throw new IllegalArgumentException("texts[" + i + "] is blank");
            if (t.length() > MAX_TEXT_CHARS) throw new IllegalArgumentException("texts[" + i + "] is longer than " + MAX_TEXT_CHARS + " characters");
        }
    }
}

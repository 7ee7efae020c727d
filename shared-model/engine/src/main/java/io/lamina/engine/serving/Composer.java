package io.lamina.engine.serving;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.routing.AdapterRouter;
import io.lamina.engine.routing.RoutedPrediction;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Online adapter composition: how a request's adapters are applied to its texts, and the prediction
 * that follows. Any number of requests, each with its own composition, are served by one
 * {@link MixedAdapterEncoder} pass ({@link #predictAll}), so requests that use different adapters still
 * share the batched forward.
 *
 * <p>Predictions are cosine scores against head prototypes (as in {@link AdapterRouter}):
 * {@link Mode#SINGLE} and {@link Mode#ROUTED} use the head of the adapter that produced the embedding;
 * {@link Mode#WEIGHTED_SUM} and {@link Mode#STACK} use the union of the adapters' heads (in adapter
 * order; when several heads have a label, the first one's prototype is used; adapters without a head
 * add none). Thread-safe.
 */
public final class Composer {

    /** How a request's adapters are combined. */
    public enum Mode {
        /** One adapter. */
        SINGLE,
        /**
         * {@code Σ w_i ΔW_i} applied together: for LoRA, the weighted sum of the deltas, computed unmerged
         * as one LoRA of rank {@code Σ r_i} (see {@link LoraBlend}) inside the shared mixed forward; no
         * merged weights are materialised, so the request needs no forward of its own.
         */
        WEIGHTED_SUM,
        /**
         * All adapters applied, each with weight 1. LoRA deltas are additive ({@code W + ΔW_1 + ΔW_2}), so
         * stacking LoRA adapters equals their unweighted sum, which is how it is computed. A truly
         * sequential stack (one adapter applied to the output of the other) differs only for bottleneck
         * adapters (Houlsby/Pfeiffer style), which the engine does not have yet.
         */
        STACK,
        /**
         * Per input, the one adapter chosen by {@link AdapterRouter} (retrieval or most-confident head); every
         * candidate runs on the whole batch in the same mixed forward (the batch replicated once per adapter).
         */
        ROUTED
    }

    /**
     * A request's adapters and how to combine them.
     *
     * @param weights one per adapter for {@link Mode#WEIGHTED_SUM}; all 1 for the other modes
     */
    public record Composition(Mode mode, List<Adapter> adapters, float[] weights) {
        public Composition {
            if (mode == null) throw new IllegalArgumentException("a composition needs a mode");
            if (adapters == null || adapters.isEmpty()) throw new IllegalArgumentException(mode + " needs at least one adapter");
            if (mode == Mode.SINGLE && adapters.size() != 1) throw new IllegalArgumentException("SINGLE takes exactly one adapter, got " + adapters.size());
            if (mode == Mode.WEIGHTED_SUM) {
                if (weights == null || weights.length != adapters.size()) {
                    throw new IllegalArgumentException("WEIGHTED_SUM needs one weight per adapter: " + adapters.size() + " adapters, "
                            + (weights == null ? "no" : String.valueOf(weights.length)) + " weights");
                }
                weights = weights.clone();
            } else {
                if (weights != null) {
                    for (float w : weights) {
                        if (w != 1f) throw new IllegalArgumentException(mode + " applies every adapter with weight 1");
                    }
                }
                weights = new float[adapters.size()];
                Arrays.fill(weights, 1f);
            }
            adapters = List.copyOf(adapters);
        }

        public static Composition single(Adapter adapter) { return new Composition(Mode.SINGLE, List.of(adapter), null); }

        public static Composition weightedSum(List<Adapter> adapters, float... weights) { return new Composition(Mode.WEIGHTED_SUM, adapters, weights); }

        public static Composition stack(List<Adapter> adapters) { return new Composition(Mode.STACK, adapters, null); }

        public static Composition routed(List<Adapter> adapters) { return new Composition(Mode.ROUTED, adapters, null); }

        @Override
        public float[] weights() { return weights.clone(); }

        /** The LoRA update applied to every text (not defined for {@link Mode#ROUTED}, which picks per text). */
        LoraBlend blend() {
            return switch (mode) {
                case SINGLE -> LoraBlend.of(adapters.get(0));
                case WEIGHTED_SUM -> LoraBlend.weighted(adapters, weights);
                case STACK -> LoraBlend.sum(adapters);
                case ROUTED -> throw new IllegalStateException("ROUTED chooses an adapter per text");
            };
        }
    }

    /** Texts to answer under one composition. */
    public record Request(List<String> texts, Composition composition) {
        public Request {
            texts = List.copyOf(texts);
            if (composition == null) throw new IllegalArgumentException("a request needs a composition");
        }
    }

    /**
     * The answer for one text.
     *
     * @param label       the best label
     * @param score       cosine between the text's embedding and that label's prototype
     * @param adapters    indices (into the composition's adapters) of the adapters whose deltas produced the
     *                    embedding: the one adapter for SINGLE and ROUTED, all of them otherwise
     * @param headAdapter index of the adapter whose head holds the label
     * @param routerScores for ROUTED, the router's score of each adapter ({@link RoutedPrediction#routerScores}); else null
     */
    public record Prediction(String label, float score, List<Integer> adapters, int headAdapter, float[] routerScores) {
        public Prediction {
            adapters = List.copyOf(adapters);
        }

        public Prediction(String label, float score, List<Integer> adapters, int headAdapter) {
            this(label, score, adapters, headAdapter, null);
        }
    }

    private final MixedAdapterEncoder encoder;

    public Composer(BaseModel base) {
        this(new MixedAdapterEncoder(base));
    }

    public Composer(MixedAdapterEncoder encoder) {
        this.encoder = encoder;
    }

    /** Sentence embeddings of {@code texts} under a SINGLE, WEIGHTED_SUM or STACK composition. */
    public float[][] embed(List<String> texts, Composition composition) {
        if (composition.mode() == Mode.ROUTED) throw new IllegalArgumentException("ROUTED picks the adapter per text from its head: use predict");
        LoraBlend blend = composition.blend();
        List<LoraBlend> blends = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++) blends.add(blend);
        return encoder.embedBlends(texts, blends);
    }

    /** One prediction per text, in order. */
    public List<Prediction> predict(List<String> texts, Composition composition) {
        return predictAll(List.of(new Request(texts, composition))).get(0);
    }

    /** Every request's predictions (per request, one per text, in order), from one mixed-adapter pass. */
    public List<List<Prediction>> predictAll(List<Request> requests) {
        // heads first, so a request without one fails before any forward runs
        List<Head> heads = new ArrayList<>(requests.size());
        for (Request r : requests) {
            Composition c = r.composition();
            heads.add(switch (c.mode()) {
                case SINGLE -> Head.of(c.adapters().get(0).head(), 0, "SINGLE adapter");
                case WEIGHTED_SUM, STACK -> Head.union(c.adapters());
                case ROUTED -> null; // AdapterRouter checks the heads
            });
            if (c.mode() == Mode.ROUTED) {
                for (int k = 0; k < c.adapters().size(); k++) {
                    if (c.adapters().get(k).head() == null) throw new IllegalArgumentException("ROUTED adapter " + k + " has no head");
                }
            }
        }

        List<String> allTexts = new ArrayList<>();
        for (Request r : requests) allTexts.addAll(r.texts());
        List<long[]> ids = encoder.base().tokenize(allTexts, BaseModel.DEFAULT_MAX_TOKENS);
        List<long[]> rows = new ArrayList<>();
        List<LoraBlend> blends = new ArrayList<>();
        int[] firstRow = new int[requests.size()];
        int at = 0;
        for (int q = 0; q < requests.size(); q++) {
            Request r = requests.get(q);
            Composition c = r.composition();
            int n = r.texts().size();
            firstRow[q] = rows.size();
            if (c.mode() == Mode.ROUTED) {
                for (LoraBlend slot : AdapterRouter.slots(c.adapters())) {
                    for (int i = 0; i < n; i++) {
                        rows.add(ids.get(at + i));
                        blends.add(slot);
                    }
                }
            } else {
                LoraBlend blend = c.blend();
                for (int i = 0; i < n; i++) {
                    rows.add(ids.get(at + i));
                    blends.add(blend);
                }
            }
            at += n;
        }
        float[][] emb = encoder.embedTokens(rows, blends);

        List<List<Prediction>> out = new ArrayList<>(requests.size());
        for (int q = 0; q < requests.size(); q++) {
            Request r = requests.get(q);
            Composition c = r.composition();
            int n = r.texts().size();
            List<Prediction> answers = new ArrayList<>(n);
            if (c.mode() == Mode.ROUTED) {
                for (RoutedPrediction p : AdapterRouter.route(emb, firstRow[q], n, c.adapters())) {
                    answers.add(new Prediction(p.label(), p.score(), List.of(p.adapterIndex()), p.adapterIndex(), p.routerScores()));
                }
            } else {
                List<Integer> used = new ArrayList<>(c.adapters().size());
                for (int k = 0; k < c.adapters().size(); k++) used.add(k);
                Head head = heads.get(q);
                for (int i = 0; i < n; i++) answers.add(head.predict(emb[firstRow[q] + i], used));
            }
            out.add(answers);
        }
        return out;
    }

    /** Normalised prototypes with, per label, the index of the adapter whose head it came from. */
    private record Head(List<String> labels, float[][] prototypes, int[] owner) {
        static Head of(PrototypeHead head, int owner, String what) {
            if (head == null) throw new IllegalArgumentException(what + " has no head");
            int[] owners = new int[head.labels().size()];
            Arrays.fill(owners, owner);
            return new Head(head.labels(), AdapterRouter.normalised(head.prototypes()), owners);
        }

        static Head union(List<Adapter> adapters) {
            List<String> labels = new ArrayList<>();
            List<float[]> protos = new ArrayList<>();
            List<Integer> owners = new ArrayList<>();
            Set<String> seen = new HashSet<>();
            for (int k = 0; k < adapters.size(); k++) {
                PrototypeHead h = adapters.get(k).head();
                if (h == null) continue;
                float[][] p = AdapterRouter.normalised(h.prototypes());
                for (int c = 0; c < h.labels().size(); c++) {
                    if (!seen.add(h.labels().get(c))) continue;
                    labels.add(h.labels().get(c));
                    protos.add(p[c]);
                    owners.add(k);
                }
            }
            if (labels.isEmpty()) throw new IllegalArgumentException("none of the composed adapters has a head");
            return new Head(labels, protos.toArray(new float[0][]), owners.stream().mapToInt(Integer::intValue).toArray());
        }

        Prediction predict(float[] e, List<Integer> used) {
            int best = 0;
            float bestScore = Float.NEGATIVE_INFINITY;
            for (int c = 0; c < prototypes.length; c++) {
                float[] p = prototypes[c];
                if (p.length != e.length) throw new IllegalArgumentException("head width " + p.length + " does not match embedding width " + e.length);
                float s = 0;
                for (int j = 0; j < e.length; j++) s += e[j] * p[j];
                if (s > bestScore) {
                    bestScore = s;
                    best = c;
                }
            }
            return new Prediction(labels.get(best), bestScore, used, owner[best]);
        }
    }
}

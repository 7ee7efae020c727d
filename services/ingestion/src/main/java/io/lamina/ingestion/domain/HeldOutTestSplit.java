package io.lamina.ingestion.domain;

import io.lamina.contracts.LabeledText;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A dataset submitted without a test split gets one held out of its train split: about
 * {@value #PERCENT} % of each class that has at least two examples (at least one example, never
 * the last one), chosen by the hash of the text. The choice depends only on the content, so the
 * same upload always yields the same split and the same dataset id.
 */
final class HeldOutTestSplit {
    static final int PERCENT = 20;

    static DatasetSubmission ensure(DatasetSubmission s) {
        if ((s.test() != null && !s.test().isEmpty()) || s.train() == null || s.train().isEmpty()) return s;
        Map<String, List<LabeledText>> byLabel = new LinkedHashMap<>();
        for (LabeledText r : s.train()) {
            if (r == null || r.label() == null || r.text() == null) return s; // the validator reports it
            byLabel.computeIfAbsent(r.label(), k -> new ArrayList<>()).add(r);
        }
        Set<LabeledText> heldOut = new HashSet<>();
        for (List<LabeledText> records : byLabel.values()) {
            if (records.size() < 2) continue;
            int n = Math.max(1, Math.min(records.size() - 1, (int) Math.round(records.size() * PERCENT / 100.0)));
            records.stream().sorted(Comparator.comparing((LabeledText r) -> hash(r.text())).thenComparing(LabeledText::text))
                    .limit(n).forEach(heldOut::add);
        }
        List<LabeledText> train = new ArrayList<>();
        List<LabeledText> test = new ArrayList<>();
        for (LabeledText r : s.train()) (heldOut.remove(r) ? test : train).add(r);
        return new DatasetSubmission(s.streamId(), s.taskKey(), s.name(), s.description(), s.labels(), train, test);
    }

    private static String hash(String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private HeldOutTestSplit() {
    }
}

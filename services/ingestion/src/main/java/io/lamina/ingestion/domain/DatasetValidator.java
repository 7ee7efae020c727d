package io.lamina.ingestion.domain;

import io.lamina.contracts.LabeledText;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks a submission before anything is stored: identifiers, label space, sizes, per-record
 * text and label, duplicates, train/test leakage and text encoding. Every problem is reported
 * (up to {@link #MAX_REPORTED}), each naming the record it is about, e.g. {@code train[12]}.
 */
public final class DatasetValidator {
    public static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
    public static final int MAX_RECORDS_PER_SPLIT = 100_000;
    public static final int MAX_TEXT_CHARS = 5_000;
    public static final int MAX_LABELS = 1_000;
    public static final int MAX_LABEL_CHARS = 100;
    public static final int MAX_NAME_CHARS = 200;
    public static final int MAX_DESCRIPTION_CHARS = 2_000;
    public static final int MAX_REPORTED = 50;

    public List<String> validate(DatasetSubmission s) {
        Errors errors = new Errors();
        checkId(errors, "streamId", s.streamId());
        checkId(errors, "taskKey", s.taskKey());
        if (blank(s.name())) errors.add("name is required");
        else if (s.name().length() > MAX_NAME_CHARS) errors.add("name is longer than " + MAX_NAME_CHARS + " characters");
        if (s.description() != null && s.description().length() > MAX_DESCRIPTION_CHARS) {
            errors.add("description is longer than " + MAX_DESCRIPTION_CHARS + " characters");
        }
        Set<String> labels = checkLabels(errors, s.labels());
        Map<String, Integer> trainTexts = checkSplit(errors, "train", s.train(), labels);
        Map<String, Integer> testTexts = checkSplit(errors, "test", s.test(), labels);
        if (labels != null && s.train() != null) {
            Set<String> seen = new HashSet<>();
            for (LabeledText r : s.train()) if (r != null) seen.add(r.label());
            for (String label : labels) if (!seen.contains(label)) errors.add("label '" + label + "' has no train example");
        }
        for (Map.Entry<String, Integer> e : testTexts.entrySet()) {
            Integer inTrain = trainTexts.get(e.getKey());
            if (inTrain != null) errors.add("test[" + e.getValue() + "] also appears as train[" + inTrain + "] (train/test leakage)");
        }
        return errors.list;
    }

    private static void checkId(Errors errors, String field, String value) {
        if (blank(value)) errors.add(field + " is required");
        else if (!ID.matcher(value).matches()) {
            errors.add(field + " '" + value + "' must match " + ID.pattern());
        }
    }

    private static Set<String> checkLabels(Errors errors, List<String> labels) {
        if (labels == null || labels.isEmpty()) {
            errors.add("labels must list at least one label");
            return null;
        }
        if (labels.size() > MAX_LABELS) errors.add("labels has " + labels.size() + " entries; at most " + MAX_LABELS);
        Set<String> set = new HashSet<>();
        for (int i = 0; i < labels.size(); i++) {
            String label = labels.get(i);
            if (blank(label)) errors.add("labels[" + i + "] is blank");
            else if (label.length() > MAX_LABEL_CHARS) errors.add("labels[" + i + "] is longer than " + MAX_LABEL_CHARS + " characters");
            else if (!set.add(label)) errors.add("labels[" + i + "] '" + label + "' is listed twice");
        }
        return set;
    }

    /** Returns text → first index, for the leakage check. */
    private static Map<String, Integer> checkSplit(Errors errors, String split, List<LabeledText> records, Set<String> labels) {
        Map<String, Integer> firstIndex = new HashMap<>();
        if (records == null || records.isEmpty()) {
            errors.add(split + " must have at least one record");
            return firstIndex;
        }
        if (records.size() > MAX_RECORDS_PER_SPLIT) {
            errors.add(split + " has " + records.size() + " records; at most " + MAX_RECORDS_PER_SPLIT);
            return firstIndex;
        }
        Map<String, String> labelOfText = new HashMap<>();
        for (int i = 0; i < records.size(); i++) {
            String where = split + "[" + i + "]";
            LabeledText r = records.get(i);
            if (r == null) {
                errors.add(where + " is null");
                continue;
            }
            if (blank(r.text())) errors.add(where + ".text is blank");
            else if (r.text().length() > MAX_TEXT_CHARS) errors.add(where + ".text is longer than " + MAX_TEXT_CHARS + " characters");
            else if (!wellEncoded(r.text())) errors.add(where + ".text has control characters or broken UTF-16 surrogates");
            if (blank(r.label())) errors.add(where + ".label is blank");
            else if (labels != null && !labels.contains(r.label())) errors.add(where + ".label '" + r.label() + "' is not in labels");
            if (blank(r.text())) continue;
            String text = r.text().strip();
            Integer first = firstIndex.putIfAbsent(text, i);
            if (first != null) {
                String earlierLabel = labelOfText.get(text);
                if (earlierLabel != null && !earlierLabel.equals(r.label())) {
                    errors.add(where + " has the same text as " + split + "[" + first + "] with a different label");
                } else {
                    errors.add(where + " duplicates " + split + "[" + first + "]");
                }
            } else {
                labelOfText.put(text, r.label());
            }
        }
        return firstIndex;
    }

    private static boolean wellEncoded(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isISOControl(c) && c != '\n' && c != '\r' && c != '\t') return false;
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= text.length() || !Character.isLowSurrogate(text.charAt(i + 1))) return false;
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static final class Errors {
        final List<String> list = new ArrayList<>();
        int dropped;

        void add(String error) {
            if (list.size() < MAX_REPORTED) list.add(error);
            else if (dropped++ == 0) list.add("... more errors not shown");
        }
    }
}

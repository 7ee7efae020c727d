package io.lamina.ingestion.domain;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import io.lamina.contracts.Json;
import io.lamina.contracts.LabeledText;
import io.lamina.support.InvalidInputException;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A task dataset uploaded as a file of records, one per row: CSV with a header row naming the
 * columns {@code text}, {@code label} and optionally {@code split} ({@code train} or {@code test};
 * {@code train} when absent), or JSON Lines with the same fields. Every bad row is reported with its
 * line number; nothing is accepted unless every row is good. Without test rows, the usual held-out
 * split applies.
 */
public final class DatasetFile {
    public enum Format {CSV, JSONL}

    private static final int MAX_REPORTED = 50;
    private static final Set<String> COLUMNS = Set.of("text", "label", "split");

    private DatasetFile() {
    }

    /**
     * @param labelsOrNull the task's classes in head order; by default every label of the file in order of first appearance
     */
    public static DatasetSubmission read(Format format, String body, String streamId, String taskKey, String name,
                                         String description, List<String> labelsOrNull) {
        if (body == null || body.isBlank()) throw new InvalidInputException("Dataset rejected", List.of("the file is empty"));
        List<String> errors = new ArrayList<>();
        List<LabeledText> train = new ArrayList<>(), test = new ArrayList<>();
        Set<String> seen = new LinkedHashSet<>();
        List<Row> rows = format == Format.CSV ? csv(body, errors) : jsonLines(body, errors);
        for (Row r : rows) {
            if (r.text() == null || r.text().isBlank()) errors.add("line " + r.line() + ": text is missing or blank");
            if (r.label() == null || r.label().isBlank()) errors.add("line " + r.line() + ": label is missing or blank");
            String split = r.split() == null || r.split().isBlank() ? "train" : r.split().strip().toLowerCase(Locale.ROOT);
            if (!split.equals("train") && !split.equals("test")) errors.add("line " + r.line() + ": split must be train or test, got '" + r.split() + "'");
            if (r.text() == null || r.text().isBlank() || r.label() == null || r.label().isBlank()) continue;
            seen.add(r.label());
            (split.equals("test") ? test : train).add(new LabeledText(r.text(), r.label()));
        }
        if (rows.isEmpty() && errors.isEmpty()) errors.add("the file has no records");
        if (!errors.isEmpty()) {
            List<String> shown = errors.size() > MAX_REPORTED ? new ArrayList<>(errors.subList(0, MAX_REPORTED)) : errors;
            if (errors.size() > MAX_REPORTED) shown.add("… and " + (errors.size() - MAX_REPORTED) + " more");
            throw new InvalidInputException("Dataset rejected", shown);
        }
        String title = name == null || name.isBlank() ? taskKey : name;
        return new DatasetSubmission(streamId, taskKey, title, description == null || description.isBlank() ? title : description,
                labelsOrNull == null || labelsOrNull.isEmpty() ? List.copyOf(seen) : labelsOrNull, train, test.isEmpty() ? null : test);
    }

    private record Row(int line, String text, String label, String split) {
    }

    private static List<Row> csv(String body, List<String> errors) {
        CsvMapper mapper = new CsvMapper();
        mapper.enable(CsvParser.Feature.FAIL_ON_MISSING_COLUMNS);
        CsvSchema schema = CsvSchema.emptySchema().withHeader();
        List<Row> rows = new ArrayList<>();
        try (MappingIterator<Map<String, String>> it = mapper.readerFor(Map.class).with(schema).readValues(body)) {
            CsvSchema header = (CsvSchema) it.getParserSchema();
            Set<String> columns = new LinkedHashSet<>(header.getColumnNames());
            if (!columns.contains("text") || !columns.contains("label")) {
                errors.add("line 1: the header must name the columns text and label (and optionally split), got " + columns);
                return rows;
            }
            for (String c : columns) {
                if (!COLUMNS.contains(c)) errors.add("line 1: unknown column '" + c + "' (columns: text, label, split)");
            }
            while (it.hasNextValue()) {
                int line = it.getCurrentLocation().getLineNr();
                Map<String, String> record;
                try {
                    record = it.nextValue();
                } catch (RuntimeException e) {
                    errors.add("line " + line + ": " + brief(e));
                    break;
                }
                rows.add(new Row(line, record.get("text"), record.get("label"), record.get("split")));
            }
        } catch (IOException | RuntimeException e) {
            errors.add("the CSV cannot be read: " + brief(e));
        }
        return rows;
    }

    private static List<Row> jsonLines(String body, List<String> errors) {
        List<Row> rows = new ArrayList<>();
        String[] lines = body.split("\r?\n", -1);
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty()) continue;
            JsonNode n;
            try {
                n = Json.mapper().readTree(line);
            } catch (JsonProcessingException e) {
                errors.add("line " + (i + 1) + ": not a JSON object: " + e.getOriginalMessage());
                continue;
            }
            if (n == null || !n.isObject()) {
                errors.add("line " + (i + 1) + ": not a JSON object");
                continue;
            }
            for (var it = n.fieldNames(); it.hasNext(); ) {
                String f = it.next();
                if (!COLUMNS.contains(f)) errors.add("line " + (i + 1) + ": unknown field '" + f + "' (fields: text, label, split)");
            }
            rows.add(new Row(i + 1, textOf(n, "text", i + 1, errors), textOf(n, "label", i + 1, errors), textOf(n, "split", i + 1, errors)));
        }
        return rows;
    }

    private static String textOf(JsonNode n, String field, int line, List<String> errors) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) {
            errors.add("line " + line + ": " + field + " must be a string, got " + v.getNodeType().name().toLowerCase(Locale.ROOT));
            return null;
        }
        return v.textValue();
    }

    private static String brief(Exception e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        int nl = m.indexOf('\n');
        return nl > 0 ? m.substring(0, nl) : m;
    }
}

package io.lamina.ingestion;

import io.lamina.contracts.LabeledText;
import io.lamina.ingestion.domain.DatasetSubmission;
import io.lamina.ingestion.domain.DatasetValidator;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DatasetValidatorTest {
    private final DatasetValidator validator = new DatasetValidator();

    private static DatasetSubmission submission(List<String> labels, List<LabeledText> train, List<LabeledText> test) {
        return new DatasetSubmission("stream-1", "task-1", "a task", "what it is", labels, train, test);
    }

    private static LabeledText r(String text, String label) {
        return new LabeledText(text, label);
    }

    @Test
    void aCleanDatasetHasNoErrors() {
        assertThat(validator.validate(submission(List.of("a", "b"),
                List.of(r("one", "a"), r("two", "b")), List.of(r("three", "a"))))).isEmpty();
    }

    @Test
    void everyProblemIsNamedWithItsRecord() {
        List<String> errors = validator.validate(new DatasetSubmission("bad id!", "", null, null,
                List.of("a", "a", " "),
                List.of(r("one", "a"), r("one", "a"), r("", "a"), r("two", "z"), r("x\u0000y", "a"), r("dup", "a"), r("dup", "b")),
                List.of(r("one", "a"), r("bad\uD800", "a"))));
        assertThat(errors).contains(
                "streamId 'bad id!' must match " + DatasetValidator.ID.pattern(),
                "taskKey is required",
                "name is required",
                "labels[1] 'a' is listed twice",
                "labels[2] is blank",
                "train[1] duplicates train[0]",
                "train[2].text is blank",
                "train[3].label 'z' is not in labels",
                "train[4].text has control characters or broken UTF-16 surrogates",
                "train[6] has the same text as train[5] with a different label",
                "test[1].text has control characters or broken UTF-16 surrogates",
                "test[0] also appears as train[0] (train/test leakage)");
    }

    @Test
    void labelsWithoutTrainExamplesAndEmptySplitsAreRefused() {
        assertThat(validator.validate(submission(List.of("a", "b"), List.of(r("one", "a")), List.of())))
                .contains("label 'b' has no train example", "test must have at least one record");
    }

    @Test
    void theReportIsBounded() {
        List<LabeledText> train = new ArrayList<>();
        for (int i = 0; i < 500; i++) train.add(r("text " + i, "missing"));
        List<String> errors = validator.validate(submission(List.of("a"), train, List.of(r("t", "a"))));
        assertThat(errors).hasSize(DatasetValidator.MAX_REPORTED + 1).last().isEqualTo("... more errors not shown");
    }
}

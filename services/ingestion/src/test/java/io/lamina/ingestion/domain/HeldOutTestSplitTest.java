package io.lamina.ingestion.domain;

import io.lamina.contracts.LabeledText;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class HeldOutTestSplitTest {

    private static DatasetSubmission submission(List<LabeledText> train, List<LabeledText> test) {
        return new DatasetSubmission("s", "t", "n", "d", List.of("a", "b", "c"), train, test);
    }

    @Test
    void aMissingTestSplitIsHeldOutPerClassDeterministically() {
        List<LabeledText> train = new ArrayList<>();
        for (int i = 0; i < 10; i++) train.add(new LabeledText("alpha " + i, "a"));
        for (int i = 0; i < 3; i++) train.add(new LabeledText("beta " + i, "b"));
        train.add(new LabeledText("gamma only", "c"));

        DatasetSubmission split = HeldOutTestSplit.ensure(submission(train, List.of()));
        assertThat(split.test()).filteredOn(r -> r.label().equals("a")).hasSize(2);
        assertThat(split.test()).filteredOn(r -> r.label().equals("b")).hasSize(1);
        assertThat(split.test()).filteredOn(r -> r.label().equals("c")).isEmpty();
        assertThat(split.train()).hasSize(11).contains(new LabeledText("gamma only", "c"));
        assertThat(new HashSet<>(split.train())).doesNotContainAnyElementsOf(split.test());
        // Content decides, not the order of the upload.
        List<LabeledText> reversed = new ArrayList<>(train);
        java.util.Collections.reverse(reversed);
        assertThat(new HashSet<>(HeldOutTestSplit.ensure(submission(reversed, null)).test())).isEqualTo(new HashSet<>(split.test()));
        assertThat(new DatasetValidator().validate(split)).isEmpty();
    }

    @Test
    void aGivenTestSplitIsKept() {
        List<LabeledText> test = List.of(new LabeledText("x", "a"));
        DatasetSubmission s = submission(List.of(new LabeledText("y", "a")), test);
        assertThat(HeldOutTestSplit.ensure(s)).isSameAs(s);
    }
}

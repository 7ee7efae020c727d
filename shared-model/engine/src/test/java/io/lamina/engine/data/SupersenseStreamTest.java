package io.lamina.engine.data;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.data.SupersenseStream.TaskData;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SupersenseStreamTest {

    @Test
    void buildsTheRequestedCountsWithDisjointTrainAndTest() {
        List<TaskData> stream = SupersenseStream.build(5, 5, 20, 10, 42);
        assertThat(stream).hasSize(5);
        Set<String> allLabels = new HashSet<>();
        Set<String> allTexts = new HashSet<>();
        for (int t = 0; t < stream.size(); t++) {
            TaskData task = stream.get(t);
            assertThat(task.taskKey()).isEqualTo("task-" + (t + 1));
            assertThat(task.labels()).hasSize(5).doesNotHaveDuplicates();
            assertThat(task.train()).hasSize(5 * 20);
            assertThat(task.test()).hasSize(5 * 10);
            for (String label : task.labels()) {
                assertThat(task.train().stream().filter(x -> x.label().equals(label))).hasSize(20);
                assertThat(task.test().stream().filter(x -> x.label().equals(label))).hasSize(10);
                assertThat(task.description()).contains(WordNetSupersenses.shortName(label));
            }
            assertThat(task.description()).startsWith("Classify WordNet noun glosses by supersense: ");
            Set<String> train = task.train().stream().map(LabeledText::text).collect(Collectors.toSet());
            Set<String> test = task.test().stream().map(LabeledText::text).collect(Collectors.toSet());
            assertThat(train).hasSize(task.train().size());
            assertThat(test).hasSize(task.test().size());
            assertThat(train).doesNotContainAnyElementsOf(test);
            for (LabeledText x : task.train()) {
                assertThat(task.labels()).contains(x.label());
                assertThat(WordNetSupersenses.glossesBySupersense().get(x.label())).contains(x.text());
            }
            allLabels.addAll(task.labels());
            assertThat(allTexts.addAll(train)).isTrue();
        }
        assertThat(allLabels).hasSize(25).doesNotContain("noun.Tops")
                .containsExactlyInAnyOrderElementsOf(WordNetSupersenses.supersenses());
    }

    @Test
    void isDeterministicForASeedAndVariesWithIt() {
        List<TaskData> a = SupersenseStream.build(3, 4, 8, 4, 7);
        List<TaskData> b = SupersenseStream.build(3, 4, 8, 4, 7);
        List<TaskData> c = SupersenseStream.build(3, 4, 8, 4, 8);
        assertThat(a).isEqualTo(b);
        assertThat(a).isNotEqualTo(c);
        // a smaller stream with the same seed uses the same class order and samples
        List<TaskData> prefix = SupersenseStream.build(1, 4, 8, 4, 7);
        assertThat(prefix.get(0)).isEqualTo(a.get(0));
    }

    @Test
    void validatesArguments() {
        assertThatThrownBy(() -> SupersenseStream.build(6, 5, 10, 5, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("30 exceeds the 25");
        assertThatThrownBy(() -> SupersenseStream.build(0, 5, 10, 5, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tasks must be at least 1");
        assertThatThrownBy(() -> SupersenseStream.build(1, 0, 10, 5, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("classesPerTask");
        assertThatThrownBy(() -> SupersenseStream.build(1, 5, 0, 5, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("trainPerClass");
        assertThatThrownBy(() -> SupersenseStream.build(1, 5, 10, 0, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("testPerClass");
    }

    @Test
    void smallClassesKeepTheTrainTestRatioUnderTheCaps() {
        // all 25 classes include noun.motive, which has fewer than 80 + 20 distinct glosses
        int motive = WordNetSupersenses.glossesBySupersense().get("noun.motive").size();
        assertThat(motive).isLessThan(100);
        var task = SupersenseStream.build(5, 5, 80, 20, 1).stream()
                .filter(t -> t.labels().contains("noun.motive")).findFirst().orElseThrow();
        long train = task.train().stream().filter(r -> r.label().equals("noun.motive")).count();
        long test = task.test().stream().filter(r -> r.label().equals("noun.motive")).count();
        assertThat(train + test).isEqualTo(motive);
        assertThat(test).isEqualTo(Math.round(motive * 20f / 100));
        long otherTrain = task.train().stream().filter(r -> !r.label().equals("noun.motive")).count();
        assertThat(otherTrain).isEqualTo(80L * 4);
    }
}

package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.model.BaseModel;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RankSweepTest {
    @Test
    void theElbowIsTheSmallestRankWithinToleranceOfTheBest() {
        List<RankSweep.Point> points = List.of(new RankSweep.Point(2, List.of(0.70, 0.72)), new RankSweep.Point(4, List.of(0.78, 0.80)),
                new RankSweep.Point(8, List.of(0.80, 0.80)), new RankSweep.Point(16, List.of(0.79, 0.81)));
        assertThat(RankSweep.choose(points, 0.01).chosenRank()).isEqualTo(4);
        assertThat(RankSweep.choose(points, 0.0).chosenRank()).isEqualTo(8);
        assertThat(RankSweep.choose(points, 0.2).chosenRank()).isEqualTo(2);
        assertThat(RankSweep.choose(points, 0.01).summary()).isEqualTo("r2=0.710 r4=0.790 r8=0.800 r16=0.800; chosen 4 (tolerance 0.010)");
    }

    @Test
    void validationTakesSomeOfEveryClassAndNothingTwice() {
        List<LabeledText> data = new ArrayList<>();
        for (int i = 0; i < 10; i++) data.add(new LabeledText("a" + i, "a"));
        for (int i = 0; i < 3; i++) data.add(new LabeledText("b" + i, "b"));
        List<LabeledText> fit = new ArrayList<>(), val = new ArrayList<>();
        RankSweep.split(data, fit, val);
        assertThat(val).extracting(LabeledText::text).containsExactly("a1", "a6", "b1");
        assertThat(fit).hasSize(10).doesNotContainAnyElementsOf(val);
    }

    @Test
    void sweepsRealTrainingRuns() {
        List<LabeledText> data = TinyTasks.things();
        TrainingRequest request = new TrainingRequest(data, List.of("animal", "vehicle", "food"), LoraSpec.defaults(),
                new TrainingSpec(1, 8, 3e-3f, 0.01f, 0.1f, 1f, 3L, 32, 0), null, null, null, Map.of());
        RankSweep.Result r = new RankSweep(BaseModel.miniLm()).run(request, new RankSweep.Settings(List.of(4, 1), 1, 1.0));
        assertThat(r.points()).extracting(RankSweep.Point::rank).containsExactly(1, 4);
        for (RankSweep.Point p : r.points()) assertThat(p.mean()).isBetween(0.0, 1.0);
        assertThat(r.chosenRank()).isEqualTo(1); // tolerance 1: every rank qualifies, the smallest wins
        assertThatThrownBy(() -> new RankSweep.Settings(List.of(0), 1, 0.01)).hasMessageContaining("[1, 256]");
    }
}

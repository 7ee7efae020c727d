package io.lamina.engine.routing;

import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class AdapterRouterTest {
    @Test
    void routesEachTextToTheAdapterOfItsTask() {
        BaseModel base = BaseModel.miniLm();
        TrainingSpec spec = new TrainingSpec(2, 4, 3e-3f, 0.01f, 0.1f, 1f, 5L, 32, 0);
        LoraTrainer trainer = new LoraTrainer(base);
        Adapter sports = trainer.train(new TrainingRequest(TinyTasks.sports(), List.of("football", "tennis"), LoraSpec.defaults(), spec, null, null, null, Map.of()));
        Adapter cooking = trainer.train(new TrainingRequest(TinyTasks.cooking(), List.of("baking", "grilling"), LoraSpec.defaults(), spec, null, null, null, Map.of()));

        List<String> texts = List.of(
                "the midfielder passed the ball and the forward scored",
                "a double fault cost her the service game",
                "bake the muffins in a hot oven until golden",
                "flip the sausages on the barbecue grill");
        List<RoutedPrediction> p = new AdapterRouter(base).predict(texts, List.of(sports, cooking));
        assertThat(p).extracting(RoutedPrediction::adapterIndex).containsExactly(0, 0, 1, 1);
        assertThat(p).extracting(RoutedPrediction::label).containsExactly("football", "tennis", "baking", "grilling");
        for (RoutedPrediction r : p) assertThat(r.score()).isBetween(-1f, 1f);

        // the order of adapters does not matter, only the index changes
        List<RoutedPrediction> swapped = new AdapterRouter(base).predict(texts, List.of(cooking, sports));
        assertThat(swapped).extracting(RoutedPrediction::adapterIndex).containsExactly(1, 1, 0, 0);
        for (int i = 0; i < texts.size(); i++) assertThat(swapped.get(i).score()).isEqualTo(p.get(i).score());
        assertThat(AdapterRouter.retrieves(List.of(sports, cooking))).isTrue();

        // without base prototypes the most-confident rule answers, and still routes these right
        List<Adapter> plain = List.of(sports.withHead(new io.lamina.engine.head.PrototypeHead(sports.head().labels(), sports.head().prototypes(), 16f)),
                cooking.withHead(new io.lamina.engine.head.PrototypeHead(cooking.head().labels(), cooking.head().prototypes(), 16f)));
        assertThat(AdapterRouter.retrieves(plain)).isFalse();
        assertThat(new AdapterRouter(base).predict(texts, plain)).extracting(RoutedPrediction::adapterIndex).containsExactly(0, 0, 1, 1);
    }

    private static Adapter headOnly(List<String> labels, float[][] protos, float[][] baseProtos) {
        return io.lamina.engine.io.AdapterFixtures.randomAdapter(1, LoraSpec.defaults(), 1, 2, labels, "f")
                .withHead(new io.lamina.engine.head.PrototypeHead(labels, protos, 16f, baseProtos));
    }

    @Test
    void retrievalLetsTheBaseModelsViewOverruleAnOverconfidentAdapter() {
        // adapter 1 is (wrongly) a little more confident under its own embedding; the base view says task 0
        Adapter a = headOnly(List.of("a0", "a1"), new float[][]{{1, 0}, {0, 1}}, new float[][]{{1, 0}, {0, 1}});
        Adapter b = headOnly(List.of("b0", "b1"), new float[][]{{1, 0}, {0, 1}}, new float[][]{{-1, 0}, {0, -1}});
        float[][] underA = {{0.9f, 0.436f}};
        float[][] underB = {{0.95f, 0.312f}};
        float[][] base = {{1f, 0f}};
        RoutedPrediction confident = AdapterRouter.mostConfident(List.of(underA, underB), List.of(a, b)).get(0);
        assertThat(confident.adapterIndex()).isEqualTo(1);
        assertThat(confident.routerScores()).containsExactly(0.9f, 0.95f); // each head's best cosine
        RoutedPrediction r = AdapterRouter.retrieve(List.of(underA, underB), base, List.of(a, b)).get(0);
        assertThat(r.adapterIndex()).isZero();
        assertThat(r.label()).isEqualTo("a0");
        assertThat(r.score()).isCloseTo(0.9f, org.assertj.core.data.Offset.offset(1e-6f));
        // the router's view: each adapter's share of the probability, summing to 1, the chosen one's larger here
        assertThat(r.routerScores()).hasSize(2);
        assertThat(r.routerScores()[0] + r.routerScores()[1]).isCloseTo(1f, org.assertj.core.data.Offset.offset(1e-5f));
        assertThat(r.routerScores()[0]).isGreaterThan(r.routerScores()[1]);
    }
}

package io.lamina.engine.hypernetwork;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.ProgressListener;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GenerativeAdapterTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final GenerativeAdapter.Spec SPEC = new GenerativeAdapter.Spec(16, 8, 16f, List.of("query", "value"));

    /** A generator whose up-factors are not zero, so its adapters change the model. */
    private static GenerativeAdapter nonTrivial() {
        GenerativeAdapter g = GenerativeAdapter.initial(SPEC, BASE.layers(), BASE.hiddenSize(), 11L);
        java.util.SplittableRandom r = new java.util.SplittableRandom(5);
        for (int l = 0; l < BASE.layers(); l++) {
            for (String t : SPEC.targetModules()) {
                float[] b = new float[BASE.hiddenSize() * SPEC.rank()];
                for (int i = 0; i < b.length; i++) b[i] = (float) (0.05 * r.nextGaussian());
                g = g.withParameter(GenerativeAdapter.key(l, t, "B"), new HostTensor(new long[]{BASE.hiddenSize(), SPEC.rank()}, b));
            }
        }
        return g;
    }

    private static void assertClose(GenerativeAdapter.ContextState a, GenerativeAdapter.ContextState b) {
        for (int l = 0; l < BASE.layers(); l++) {
            for (int t = 0; t < SPEC.targetModules().size(); t++) {
                float[] x = a.phi(l, t), y = b.phi(l, t);
                double scale = 0;
                for (float v : x) scale = Math.max(scale, Math.abs(v));
                for (int i = 0; i < x.length; i++) {
                    assertThat((double) Math.abs(x[i] - y[i])).as("Φ[%d][%d][%d]", l, t, i).isLessThanOrEqualTo(1e-5 * scale);
                }
            }
        }
    }

    @Test
    void streamedStateEqualsOneShotStateInAnyChunkOrder() {
        GenerativeAdapter g = nonTrivial();
        List<LabeledText> examples = TinyTasks.things().subList(0, 8);
        GenerativeAdapter.ContextState oneShot = g.emptyState();
        g.accumulate(BASE, oneShot, examples, 48);
        GenerativeAdapter.ContextState streamed = g.emptyState();
        g.accumulate(BASE, streamed, examples.subList(5, 8), 48);
        g.accumulate(BASE, streamed, examples.subList(0, 2), 48);
        g.accumulate(BASE, streamed, examples.subList(2, 5), 48);
        assertThat(streamed.examples()).isEqualTo(8);
        assertClose(oneShot, streamed);
    }

    @Test
    void paddingDoesNotChangeTheState() {
        GenerativeAdapter g = nonTrivial();
        LabeledText shortOne = new LabeledText("a cat", "animal");
        LabeledText longOne = new LabeledText("a long and winding description of a very large building with many rooms and halls", "artifact");
        GenerativeAdapter.ContextState alone = g.emptyState();
        g.accumulate(BASE, alone, List.of(shortOne), 48);
        g.accumulate(BASE, alone, List.of(longOne), 48);
        GenerativeAdapter.ContextState padded = g.emptyState();
        g.accumulate(BASE, padded, List.of(shortOne, longOne), 48); // the short one is padded to the long one's length
        assertClose(alone, padded);
    }

    @Test
    void aZeroUpFactorGivesTheBaseModel() {
        GenerativeAdapter g = nonTrivial();
        for (int l = 0; l < BASE.layers(); l++) {
            for (String t : SPEC.targetModules()) g = g.withParameter(GenerativeAdapter.key(l, t, "B"), HostTensor.zeros(BASE.hiddenSize(), SPEC.rank()));
        }
        GenerativeAdapter.ContextState state = g.emptyState();
        g.accumulate(BASE, state, TinyTasks.things(), 48);
        SortedMap<String, HostTensor> lora = g.loraWeights(state);
        List<String> probe = List.of("a small furry animal", "a tool for cutting wood");
        float[][] base = BASE.embed(probe, null);
        float[][] adapted = BASE.embedTokens(BASE.tokenize(probe, BaseModel.DEFAULT_MAX_TOKENS), SPEC.loraSpec(), lora);
        for (int i = 0; i < base.length; i++) {
            for (int j = 0; j < base[i].length; j++) assertThat((double) Math.abs(adapted[i][j] - base[i][j])).isLessThan(1e-6);
        }
        // and a non-zero one changes it
        GenerativeAdapter.ContextState s2 = nonTrivial().emptyState();
        nonTrivial().accumulate(BASE, s2, TinyTasks.things(), 48);
        float[][] changed = BASE.embedTokens(BASE.tokenize(probe, BaseModel.DEFAULT_MAX_TOKENS), SPEC.loraSpec(), nonTrivial().loraWeights(s2));
        double diff = 0;
        for (int j = 0; j < base[0].length; j++) diff += Math.abs(changed[0][j] - base[0][j]);
        assertThat(diff).isGreaterThan(1e-3);
    }

    @Test
    void generatedFactorsHaveTheLoraLayoutAndDependOnTheContext() {
        GenerativeAdapter g = nonTrivial();
        GenerativeAdapter.ContextState things = g.emptyState();
        g.accumulate(BASE, things, TinyTasks.things(), 48);
        GenerativeAdapter.ContextState sports = g.emptyState();
        g.accumulate(BASE, sports, TinyTasks.sports(), 48);
        SortedMap<String, HostTensor> a = g.loraWeights(things);
        SortedMap<String, HostTensor> b = g.loraWeights(sports);
        assertThat(a).hasSize(BASE.layers() * 2 * 2);
        HostTensor loraA = a.get(io.lamina.engine.adapter.lora.LoraSpec.peftKey(0, "query", 'A'));
        assertThat(loraA.shape()).containsExactly(SPEC.rank(), BASE.hiddenSize());
        assertThat(a.get(io.lamina.engine.adapter.lora.LoraSpec.peftKey(0, "query", 'B')).shape()).containsExactly(BASE.hiddenSize(), SPEC.rank());
        assertThat(a.get(io.lamina.engine.adapter.lora.LoraSpec.peftKey(0, "query", 'A')))
                .isNotEqualTo(b.get(io.lamina.engine.adapter.lora.LoraSpec.peftKey(0, "query", 'A')));
        assertThatThrownBy(() -> g.loraWeights(g.emptyState())).hasMessageContaining("context is empty");
    }

    @Test
    void metaTrainingReachesEveryGeneratorParameterAndSurvivesSaving() {
        List<GenerativeAdapter.EpisodeTask> tasks = List.of(new GenerativeAdapter.EpisodeTask("things", TinyTasks.things()),
                new GenerativeAdapter.EpisodeTask("sports", TinyTasks.sports()));
        GenerativeAdapter.MetaTraining mt = new GenerativeAdapter.MetaTraining(3, 3, new int[]{2}, 2, 1e-2f, 0f, 0f, 1f, 3L, 32);
        List<Float> losses = new ArrayList<>();
        GenerativeAdapter trained = GenerativeAdapter.metaTrain(BASE, SPEC, tasks, mt, p -> losses.add(p.loss()));
        assertThat(losses).hasSize(3).allMatch(Float::isFinite);
        GenerativeAdapter initial = GenerativeAdapter.initial(SPEC, BASE.layers(), BASE.hiddenSize(), 3L);
        // B moves at step 1, then A1, A2, A3 and the norm weights receive gradients through it
        for (Map.Entry<String, HostTensor> e : trained.parameters().entrySet()) {
            assertThat(e.getValue()).as(e.getKey()).isNotEqualTo(initial.parameters().get(e.getKey()));
        }
        GenerativeAdapter loaded = GenerativeAdapter.fromSafetensors(trained.toSafetensors());
        assertThat(loaded.parameters()).isEqualTo(trained.parameters());
        assertThat(loaded.spec()).isEqualTo(trained.spec());
        assertThat(trained.parameterCount()).isEqualTo(BASE.layers() * 2L * (384 + 2 * 16 * 384 + 8 * 384 + 384 * 8));
    }
}

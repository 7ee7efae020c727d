package io.lamina.engine.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.BertModules;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.lora.MtLoraSpec;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.AdamW.Param;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** MTLoRA (METHODS.md §17: tests 1 and 2, 3 as placement, 4 as the exported adapters' exactness) and a short run. */
class MtLoraTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    /** Different scales, so the export's rescaling of B_t is exercised. */
    private static final MtLoraSpec SPEC = new MtLoraSpec(4, 2, 2f, 3f, 0f, BertModules.MODULES, MtLoraSpec.DEFAULT_TASK_MODULES, 2);
    private static final List<long[]> IDS = BASE.tokenize(List.of("the striker kicked the ball", "bake the cake for forty minutes"), 32);

    private static float[] encode(NDManager mgr, MultiTaskLoraTrainer.Model model, int task) {
        boolean grad = Autograd.disable();
        try {
            return BASE.encode(mgr, IDS, model == null ? null : model.arrays(task), false).toFloatArray();
        } finally {
            Autograd.restore(grad);
        }
    }

    @Test
    void atInitEveryTasksModelIsTheBaseModel() {
        try (NDManager mgr = BASE.manager().newSubManager()) {
            MultiTaskLoraTrainer.Model model = MultiTaskLoraTrainer.Model.fresh(mgr, BASE, SPEC, 3, 1L, 0f);
            float[] base = encode(mgr, null, 0);
            for (int t = 0; t < 3; t++) {
                float[] e = encode(mgr, model, t);
                for (int j = 0; j < base.length; j++) assertThat(e[j]).isCloseTo(base[j], within(1e-6f));
            }
        }
    }

    @Test
    void taskSpecificModulesExistOnlyOnTheLastLayersAttentionOutputAndFfn() {
        Map<String, HostTensor> w = MultiTaskLoraTrainer.Model.initialWeights(BASE, SPEC, 2, 1L);
        int layers = BASE.layers();
        for (int l = 0; l < layers; l++) {
            for (String m : BertModules.MODULES) {
                assertThat(w).containsKey("shared." + LoraSpec.peftKey(l, m, 'A'));
                boolean placed = l >= layers - 2 && !BertModules.ATTENTION.contains(m);
                for (int t = 0; t < 2; t++) {
                    assertThat(w.containsKey(MultiTaskLoraTrainer.Model.taskKey(t, LoraSpec.peftKey(l, m, 'A')))).as("TS %d on layer %d %s", t, l, m).isEqualTo(placed);
                    assertThat(w.containsKey(MultiTaskLoraTrainer.Model.taskKey(t, LoraSpec.peftKey(l, m, 'B')))).isEqualTo(placed);
                }
            }
        }
        // 6 layers × 6 modules × 2 shared factors, 2 layers × 3 modules × 2 factors × 2 tasks
        assertThat(w).hasSize(72 + 24);
        // the tasks' A start different (own seeds)
        String k = LoraSpec.peftKey(5, "output.dense", 'A');
        assertThat(w.get(MultiTaskLoraTrainer.Model.taskKey(0, k)).data()).isNotEqualTo(w.get(MultiTaskLoraTrainer.Model.taskKey(1, k)).data());
    }

    private static float maxAbsGrad(Param p) {
        NDArray g;
        try {
            g = p.value().getGradient();
        } catch (RuntimeException notInTheGraph) {
            return 0f;
        }
        return g.abs().max().getFloat();
    }

    private static float maxAbs(Map<String, Param> params, String prefix, char factor) {
        float m = 0;
        for (Map.Entry<String, Param> e : params.entrySet()) {
            if (e.getKey().startsWith(prefix) && e.getKey().endsWith("lora_" + factor + ".weight")) m = Math.max(m, maxAbsGrad(e.getValue()));
        }
        return m;
    }

    /** Task 0's loss alone: what its gradient reaches at step 0 (B = 0) and after one update. */
    @Test
    void aTasksLossReachesTheSharedLoraAndItsOwnButNeverAnotherTasks() {
        List<LabeledText> sports = TinyTasks.sports();
        List<String> labels = List.of("football", "tennis");
        List<long[]> ids = BASE.tokenize(sports.stream().map(LabeledText::text).toList(), 32);
        int[] y = sports.stream().mapToInt(t -> labels.indexOf(t.label())).toArray();
        try (NDManager mgr = BASE.manager().newSubManager()) {
            MultiTaskLoraTrainer.Model model = MultiTaskLoraTrainer.Model.fresh(mgr, BASE, SPEC, 2, 3L, 0f);
            Param head = AdamW.param(mgr, "head", new HostTensor(new long[]{2, 384}, gaussian(2 * 384)), null, null, 0f);
            List<Param> used = new ArrayList<>(List.of(head));
            model.params().forEach((k, p) -> { if (!k.startsWith("task.1.")) used.add(p); });
            Map<String, Param> ps = model.params();
            for (int step = 0; step < 2; step++) {
                synchronized (Autograd.STEP_LOCK) {
                    try (GradientCollector c = Engine.getInstance().newGradientCollector()) {
                        NDArray emb = BASE.encode(mgr, ids, model.arrays(0), true);
                        c.backward(LoraTrainer.headLoss(mgr, emb, head.value(), y, 2));
                    }
                }
                boolean grad = Autograd.disable();
                try {
                    assertThat(maxAbs(ps, "task.1.", 'A')).as("other task's A, step " + step).isEqualTo(0f);
                    assertThat(maxAbs(ps, "task.1.", 'B')).as("other task's B, step " + step).isEqualTo(0f);
                    assertThat(maxAbs(ps, "shared.", 'B')).as("shared B, step " + step).isPositive();
                    assertThat(maxAbs(ps, "task.0.", 'B')).as("own B, step " + step).isPositive();
                    if (step == 0) { // B = 0: no gradient reaches any A yet
                        assertThat(maxAbs(ps, "shared.", 'A')).isEqualTo(0f);
                        assertThat(maxAbs(ps, "task.0.", 'A')).isEqualTo(0f);
                    } else {
                        assertThat(maxAbs(ps, "shared.", 'A')).isPositive();
                        assertThat(maxAbs(ps, "task.0.", 'A')).isPositive();
                    }
                    AdamW.update(used, step, 1e-2f, 0f);
                } finally {
                    Autograd.restore(grad);
                }
            }
        }
    }

    /** Each task's exported plain LoRA embeds as the multi-task model's task forward (any factors, not just the init). */
    @Test
    void exportedAdaptersEqualTheMultiTaskModelsTaskForward() {
        Map<String, HostTensor> w = new TreeMap<>(MultiTaskLoraTrainer.Model.initialWeights(BASE, SPEC, 2, 5L));
        SplittableRandom r = new SplittableRandom(9);
        w.replaceAll((k, v) -> {
            float[] d = v.data().clone();
            for (int i = 0; i < d.length; i++) d[i] = (float) (r.nextGaussian() * 0.05);
            return new HostTensor(v.shape(), d);
        });
        try (NDManager mgr = BASE.manager().newSubManager()) {
            MultiTaskLoraTrainer.Model model = MultiTaskLoraTrainer.Model.of(mgr, BASE, SPEC, 2, w, 0f);
            float[] base = encode(mgr, null, 0);
            for (int t = 0; t < 2; t++) {
                float[] mt = encode(mgr, model, t);
                LoraSpec export = SPEC.exportSpec();
                assertThat(export.scaling()).isEqualTo(2f);
                Map<String, HostTensor> exported = model.exported(t);
                assertThat(exported.keySet()).hasSize(72);
                Adapter a = Adapter.lora(export, exported, new io.lamina.engine.head.PrototypeHead(List.of("x"), new float[][]{new float[384]}, 16f),
                        BASE.id(), BASE.fingerprint(), null);
                assertThat(a.isLinearLora()).isTrue();
                float[][] e = BASE.embedTokens(IDS, a);
                float diff = 0;
                for (int i = 0; i < IDS.size(); i++) {
                    for (int j = 0; j < 384; j++) {
                        assertThat(e[i][j]).isCloseTo(mt[i * 384 + j], within(1e-5f));
                        diff = Math.max(diff, Math.abs(mt[i * 384 + j] - base[i * 384 + j]));
                    }
                }
                assertThat(diff).as("the factors change the model").isGreaterThan(1e-3f);
            }
            assertThat(encode(mgr, model, 0)).isNotEqualTo(encode(mgr, model, 1));
        }
    }

    @Test
    void shortRunOnTwoTasksLowersTheLossAndReturnsOnePlainLoraPerTask() {
        TaskData sports = new TaskData("sports", TinyTasks.sports(), List.of("football", "tennis"));
        TaskData cooking = new TaskData("cooking", TinyTasks.cooking(), List.of("baking", "grilling"));
        TrainingSpec ts = new TrainingSpec(3, 4, 1e-2f, 0.01f, 0f, 1f, 2L, 32, 0); // 2 steps per epoch, 6 steps
        List<Float> losses = new ArrayList<>();
        MtLoraSpec spec = new MtLoraSpec(4, 2, 2f, 2f, 0.1f, List.of("query", "value", "attention.output.dense", "output.dense"),
                List.of("attention.output.dense", "output.dense"), 1);
        List<Adapter> out = new MultiTaskLoraTrainer(BASE).train(List.of(sports, cooking), spec, ts, p -> losses.add(p.loss()));
        assertThat(losses).hasSize(6);
        assertThat((losses.get(4) + losses.get(5)) / 2).isLessThan((losses.get(0) + losses.get(1)) / 2);
        assertThat(out).hasSize(2);
        for (Adapter a : out) {
            assertThat(a.kind()).isEqualTo(AdapterKind.LORA);
            assertThat(a.spec().rank()).isEqualTo(6);
            assertThat(a.provenance().details()).containsEntry("training-method", "mtlora").containsEntry("mtlora-shared-rank", "4")
                    .containsEntry("mtlora-task-rank", "2");
        }
        assertThat(out.get(0).provenance().details()).containsEntry("mtlora-task", "sports").containsEntry("mtlora-other-tasks", "cooking");
        assertThat(out.get(1).head().labels()).containsExactly("baking", "grilling");
        // the shared part is the same in both adapters; the task part (last layer's attention output) differs
        String sharedOnly = LoraSpec.peftKey(0, "query", 'B');
        assertThat(out.get(0).weights().get(sharedOnly)).isEqualTo(out.get(1).weights().get(sharedOnly));
        String withTask = LoraSpec.peftKey(5, "attention.output.dense", 'B');
        assertThat(out.get(0).weights().get(withTask)).isNotEqualTo(out.get(1).weights().get(withTask));
    }

    @Test
    void refusesASingleTaskAndTaskModulesOutsideTheTargets() {
        TaskData sports = new TaskData("sports", TinyTasks.sports(), List.of("football", "tennis"));
        assertThatThrownBy(() -> new MultiTaskLoraTrainer(BASE).train(List.of(sports), SPEC, TrainingSpec.defaults().withCheckpointEvery(0)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new MtLoraSpec(4, 2, 2f, 2f, 0f, List.of("query"), List.of("output.dense"), 1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static float[] gaussian(int n) {
        SplittableRandom r = new SplittableRandom(1);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) out[i] = (float) r.nextGaussian();
        return out;
    }
}

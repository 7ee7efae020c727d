package io.lamina.engine.adapter.bottleneck;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Architecture;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Placement;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Position;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Tensor;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.io.AdapterFixtures;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.CheckpointStore;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * VL-Adapter's cross-task sharing (METHODS.md §2, test 1), as Lamina does it: task B's adapter starts from the
 * shared half of task A's adapter (copied, then trained on B) and a fresh other half; A's adapter never changes.
 * B trains one step at a small learning rate, so each tensor of B ends within about one learning rate of where
 * it started: near A's tensor when shared, near a fresh init of B's seed when not.
 */
class BottleneckSharingTest {
    private static final BaseModel BASE = BaseModel.miniLm();
    private static final List<String> THINGS = List.of("animal", "vehicle", "food");
    private static final BottleneckSpec SPEC = new BottleneckSpec(Architecture.HOULSBY, Placement.PARALLEL, 16);
    private static final float LR_B = 1e-3f;
    private static final long SEED_B = 2L;
    private static Adapter taskA;
    private static Map<String, float[]> taskACopy;

    @BeforeAll
    static void trainTaskA() {
        TrainingSpec a = new TrainingSpec(2, 8, 1e-2f, 0f, 0f, 1f, 1L, 32, 0); // 4 steps
        taskA = new LoraTrainer(BASE).train(TrainingRequest.bottleneck(TinyTasks.things(), THINGS, SPEC, a, null, null, null, Map.of()));
        taskACopy = new TreeMap<>();
        taskA.weights().forEach((k, v) -> taskACopy.put(k, v.data().clone()));
    }

    private static Adapter taskB(BottleneckSharing sharing, Adapter earlier) {
        List<LabeledText> sports = TinyTasks.sports();
        List<String> labels = sports.stream().map(LabeledText::label).distinct().toList();
        TrainingSpec b = new TrainingSpec(1, sports.size(), LR_B, 0f, 0f, 1f, SEED_B, 32, 0); // 1 step
        return new LoraTrainer(BASE).train(TrainingRequest.bottleneck(sports, labels, SPEC, sharing, b, earlier, null, null, Map.of()));
    }

    /** Largest element-wise distance of B's tensor {@code t} from {@code reference}'s, over every layer and position. */
    private static float distance(Adapter b, Map<String, HostTensor> reference, Tensor t) {
        float d = 0;
        for (Map.Entry<String, HostTensor> e : reference.entrySet()) {
            if (BottleneckInit.tensorOf(e.getKey()) != t) continue;
            float[] x = b.weights().get(e.getKey()).data(), y = e.getValue().data();
            for (int i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i] - y[i]));
        }
        return d;
    }

    private static void assertTaskAUnchanged() {
        for (Map.Entry<String, float[]> e : taskACopy.entrySet()) assertThat(taskA.weights().get(e.getKey()).data()).as(e.getKey()).containsExactly(e.getValue());
    }

    private static void assertStartedFrom(Adapter b, Map<String, HostTensor> origin, Tensor t) {
        assertThat(distance(b, origin, t)).as(t + " near its origin").isLessThanOrEqualTo(1.5f * LR_B);
    }

    private static void assertDidNotStartFrom(Adapter b, Map<String, HostTensor> origin, Tensor t) {
        assertThat(distance(b, origin, t)).as(t + " far from " + origin.size()).isGreaterThan(20 * LR_B);
    }

    @Test
    void noneGivesTaskBAFreshAdapterAndLeavesTaskAIntact() {
        Adapter b = taskB(BottleneckSharing.NONE, taskA);
        Map<String, HostTensor> fresh = BottleneckInit.initialWeights(SPEC, BASE.layers(), BASE.hiddenSize(), SEED_B);
        for (Tensor t : Tensor.values()) {
            assertStartedFrom(b, fresh, t);
            if (t != Tensor.DOWN_BIAS) assertDidNotStartFrom(b, taskA.weights(), t); // A's down bias stays near 0 too
        }
        assertThat(b.provenance().details()).containsEntry("bottleneck-sharing", "NONE").doesNotContainKey("bottleneck-shared");
        assertTaskAUnchanged();
    }

    @Test
    void shareUpContinuesTaskAsUpProjectionWithAFreshDownProjection() {
        Adapter b = taskB(BottleneckSharing.SHARE_UP, taskA);
        Map<String, HostTensor> fresh = BottleneckInit.initialWeights(SPEC, BASE.layers(), BASE.hiddenSize(), SEED_B);
        assertStartedFrom(b, taskA.weights(), Tensor.UP_WEIGHT);
        assertStartedFrom(b, taskA.weights(), Tensor.UP_BIAS);
        assertStartedFrom(b, fresh, Tensor.DOWN_WEIGHT);
        assertDidNotStartFrom(b, taskA.weights(), Tensor.DOWN_WEIGHT);
        // the shared half is trained further on B, not frozen
        assertThat(distance(b, taskA.weights(), Tensor.UP_WEIGHT)).isGreaterThan(0f);
        assertThat(b.provenance().details()).containsEntry("bottleneck-sharing", "SHARE_UP").containsEntry("bottleneck-shared", "up");
        assertTaskAUnchanged();
    }

    @Test
    void shareDownContinuesTaskAsDownProjectionWithAZeroUpProjection() {
        Adapter b = taskB(BottleneckSharing.SHARE_DOWN, taskA);
        Map<String, HostTensor> fresh = BottleneckInit.initialWeights(SPEC, BASE.layers(), BASE.hiddenSize(), SEED_B);
        assertStartedFrom(b, taskA.weights(), Tensor.DOWN_WEIGHT);
        assertStartedFrom(b, taskA.weights(), Tensor.DOWN_BIAS);
        assertStartedFrom(b, fresh, Tensor.UP_WEIGHT);
        assertDidNotStartFrom(b, taskA.weights(), Tensor.UP_WEIGHT);
        assertThat(b.provenance().details()).containsEntry("bottleneck-shared", "down");
        assertTaskAUnchanged();
    }

    @Test
    void singleContinuesAllOfTaskAAndFallsBackToAFreshInitForAnotherKind() {
        Adapter b = taskB(BottleneckSharing.SINGLE, taskA);
        for (Tensor t : Tensor.values()) assertStartedFrom(b, taskA.weights(), t);
        assertThat(b.provenance().details()).containsEntry("bottleneck-shared", "all");
        assertTaskAUnchanged();

        // a LoRA "earlier adapter": SINGLE starts fresh (as LoRA warm starts do), the half-sharing modes refuse it
        Adapter lora = AdapterFixtures.randomAdapter(1, LoraSpec.defaults(), BASE.layers(), BASE.hiddenSize(), THINGS, BASE.fingerprint());
        Adapter fresh = taskB(BottleneckSharing.SINGLE, lora);
        assertThat(fresh.provenance().details()).doesNotContainKey("bottleneck-shared");
        assertThatThrownBy(() -> taskB(BottleneckSharing.SHARE_UP, lora))
                .hasMessageContaining("bottleneck sharing SHARE_UP needs an earlier bottleneck adapter of the same spec on this base: it is a LORA adapter");
        Adapter pfeiffer = Adapter.of(new BottleneckSpec(Architecture.PFEIFFER, Placement.PARALLEL, 16),
                BottleneckInit.initialWeights(new BottleneckSpec(Architecture.PFEIFFER, Placement.PARALLEL, 16), BASE.layers(), BASE.hiddenSize(), 1),
                taskA.head(), BASE.id(), BASE.fingerprint(), taskA.provenance());
        assertThatThrownBy(() -> taskB(BottleneckSharing.SHARE_DOWN, pfeiffer)).hasMessageContaining("its spec is BottleneckSpec[architecture=PFEIFFER");
    }

    @Test
    void sharedPicksTheHalvesByTensor() {
        Map<String, HostTensor> a = BottleneckInit.initialWeights(SPEC, 2, 384, 1), b = BottleneckInit.initialWeights(SPEC, 2, 384, 2);
        Map<String, HostTensor> up = BottleneckInit.shared(BottleneckSharing.SHARE_UP, b, a);
        String down = BottleneckSpec.peftKey(1, Position.FFN, Tensor.DOWN_WEIGHT), upW = BottleneckSpec.peftKey(1, Position.FFN, Tensor.UP_WEIGHT);
        assertThat(up.get(down)).isSameAs(b.get(down));
        assertThat(up.get(upW)).isSameAs(a.get(upW));
        assertThat(BottleneckInit.shared(BottleneckSharing.SHARE_DOWN, b, a).get(down)).isSameAs(a.get(down));
        assertThat(BottleneckInit.shared(BottleneckSharing.NONE, b, a)).isEqualTo(b);
        assertThat(BottleneckInit.shared(BottleneckSharing.SINGLE, b, a)).isEqualTo(a);
        Map<String, HostTensor> missing = new TreeMap<>(a);
        missing.remove(upW);
        assertThatThrownBy(() -> BottleneckInit.shared(BottleneckSharing.SHARE_UP, b, missing)).hasMessageContaining("lacks '" + upW + "'");
    }

    @Test
    void aSharedRunResumedFromItsCheckpointTakesTheStepsAnUninterruptedRunTakes() {
        List<LabeledText> sports = TinyTasks.sports();
        List<String> labels = sports.stream().map(LabeledText::label).distinct().toList();
        TrainingSpec spec = new TrainingSpec(2, 4, 3e-3f, 0.01f, 0f, 1f, 9L, 32, 1); // 4 steps, a checkpoint after each
        Adapter uninterrupted = new LoraTrainer(BASE).train(TrainingRequest.bottleneck(sports, labels, SPEC, BottleneckSharing.SHARE_UP, spec, taskA,
                null, null, Map.of()));
        byte[][] saved = new byte[1][];
        CheckpointStore store = new CheckpointStore() {
            @Override
            public Optional<byte[]> load() { return Optional.ofNullable(saved[0]); }

            @Override
            public void save(byte[] checkpoint) { saved[0] = checkpoint.clone(); }

            @Override
            public void clear() { saved[0] = null; }
        };
        assertThatThrownBy(() -> new LoraTrainer(BASE).train(TrainingRequest.bottleneck(sports, labels, SPEC, BottleneckSharing.SHARE_UP, spec, taskA, p -> {
            if (p.step() == 3) throw new IllegalStateException("worker killed");
        }, store, Map.of()))).hasMessage("worker killed");
        List<Integer> resumedSteps = new ArrayList<>();
        Adapter resumed = new LoraTrainer(BASE).train(TrainingRequest.bottleneck(sports, labels, SPEC, BottleneckSharing.SHARE_UP, spec, taskA,
                p -> resumedSteps.add(p.step()), store, Map.of()));
        assertThat(resumedSteps).containsExactly(4);
        assertThat(resumed.provenance().details()).containsEntry("resumed-at-step", "3").containsEntry("bottleneck-shared", "up");
        for (String k : uninterrupted.weights().keySet()) {
            assertThat(resumed.weights().get(k).data()).as(k).containsExactly(uninterrupted.weights().get(k).data());
        }
        assertThat(saved[0]).isNull(); // cleared when the run completed
    }
}

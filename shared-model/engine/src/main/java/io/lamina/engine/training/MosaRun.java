package io.lamina.engine.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.lamina.engine.adapter.bottleneck.Mosa;
import io.lamina.engine.adapter.bottleneck.MosaSettings;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec.Tensor;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.BottleneckArrays;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.AdamW.Param;

import java.util.List;
import java.util.Map;

/**
 * One MoSA bottleneck run's split up-projections inside {@link LoraTrainer}: the {@code N} experts of every
 * {@code W_up} (trainable, keyed by {@link Mosa#expertKey}), their masks, and the step hooks that sample one
 * expert per adapter per forward, add the consistency term, mask the gradients and keep every expert's
 * not-owned entries at the shared init (so decoupled weight decay, which would also shrink those, changes only
 * owned entries: METHODS.md §12's caveat). All arrays live for the run on the trainer's manager.
 */
final class MosaRun implements LoraTrainer.StepHooks {
    private final BaseModel base;
    private final BottleneckSpec spec;
    private final MosaSettings settings;
    private final long seed;
    /** {@code [layer][position][tensor]} with {@code null} at {@code UP_WEIGHT}, filled per forward. */
    private final NDArray[][][] shared;
    private final Param[][][] experts;        // [layer][position][expert]
    private final NDArray[][][] masks;        // [layer][position][expert], 0/1
    private final NDArray[][][] frozenPart;   // init ⊙ (1 − m_i)

    private MosaRun(BaseModel base, BottleneckSpec spec, MosaSettings settings, long seed, NDArray[][][] shared,
                    Param[][][] experts, NDArray[][][] masks, NDArray[][][] frozenPart) {
        this.base = base;
        this.spec = spec;
        this.settings = settings;
        this.seed = seed;
        this.shared = shared;
        this.experts = experts;
        this.masks = masks;
        this.frozenPart = frozenPart;
    }

    /**
     * Creates the experts from {@code start} (a checkpoint's experts and moments) or, for a fresh run, as copies of
     * {@code initial}'s {@code W_up}, and adds them to {@code params}.
     *
     * @param shared the run's other bottleneck tensors, {@code null} at {@code UP_WEIGHT}
     */
    static MosaRun create(NDManager mgr, BaseModel base, BottleneckSpec spec, MosaSettings settings, NDArray[][][] shared,
                          Map<String, HostTensor> start, Map<String, HostTensor> initial, TrainingSpec ts, List<Param> params) {
        int layers = shared.length, positions = spec.adaptersPerLayer(), n = settings.experts();
        Param[][][] experts = new Param[layers][positions][n];
        NDArray[][][] masks = new NDArray[layers][positions][n];
        NDArray[][][] frozenPart = new NDArray[layers][positions][n];
        for (int l = 0; l < layers; l++) {
            for (int q = 0; q < positions; q++) {
                String key = BottleneckSpec.peftKey(l, spec.positions().get(q), Tensor.UP_WEIGHT);
                HostTensor init = initial.get(key);
                Shape shape = new Shape(init.shape());
                float[][] m = Mosa.masks(ts.seed(), key, init.data().length, n);
                for (int i = 0; i < n; i++) {
                    String ek = Mosa.expertKey(i, key);
                    HostTensor value = start.containsKey(ek) ? start.get(ek) : init;
                    experts[l][q][i] = AdamW.param(mgr, ek, value, start.get("adamw.m." + ek), start.get("adamw.v." + ek), ts.weightDecay());
                    params.add(experts[l][q][i]);
                    float[] rest = new float[m[i].length];
                    for (int j = 0; j < rest.length; j++) rest[j] = m[i][j] == 1f ? 0f : init.data()[j];
                    masks[l][q][i] = mgr.create(m[i], shape);
                    frozenPart[l][q][i] = mgr.create(rest, shape);
                    NDScope.unregister(masks[l][q][i], frozenPart[l][q][i]);
                }
            }
        }
        return new MosaRun(base, spec, settings, ts.seed(), shared, experts, masks, frozenPart);
    }

    /** The bottleneck adapters of one training forward: expert {@link Mosa#expert} at every adapter. */
    BottleneckArrays sample(int step, int micro, int pass) {
        NDArray[][][] t = new NDArray[shared.length][][];
        for (int l = 0; l < shared.length; l++) {
            t[l] = new NDArray[shared[l].length][];
            for (int q = 0; q < shared[l].length; q++) {
                t[l][q] = shared[l][q].clone();
                int k = Mosa.expert(seed, step, micro, pass, l, q, settings.experts());
                t[l][q][Tensor.UP_WEIGHT.ordinal()] = experts[l][q][k].value();
            }
        }
        return new BottleneckArrays(spec, t);
    }

    @Override
    public NDArray loss(NDManager mgr, List<long[]> batchIds, NDArray head, int[] labels, int classes, int step, int micro) {
        NDArray e1 = base.encode(mgr, batchIds, null, null, sample(step, micro, 0), true);
        NDArray ce = LoraTrainer.headLoss(mgr, e1, head, labels, classes);
        if (!settings.consistency()) return ce;
        NDArray e2 = base.encode(mgr, batchIds, null, null, sample(step, micro, 1), true);
        NDArray kl = Mosa.symmetricKl(mgr, LoraTrainer.headLogits(mgr, e1, head), LoraTrainer.headLogits(mgr, e2, head));
        return ce.add(kl.mul(Autograd.constant(mgr, settings.consistencyWeight())));
    }

    /** {@code grad(expert_i) ⊙= m_i}: each expert only ever learns its own entries. */
    @Override
    public void beforeUpdate() {
        for (int l = 0; l < experts.length; l++) {
            for (int q = 0; q < experts[l].length; q++) {
                for (int i = 0; i < experts[l][q].length; i++) experts[l][q][i].value().getGradient().muli(masks[l][q][i]);
            }
        }
    }

    /** Not-owned entries back to the init: undoes weight decay there (the masked gradient leaves them unchanged otherwise). */
    @Override
    public void afterUpdate() {
        for (int l = 0; l < experts.length; l++) {
            for (int q = 0; q < experts[l].length; q++) {
                for (int i = 0; i < experts[l][q].length; i++) experts[l][q][i].value().muli(masks[l][q][i]).addi(frozenPart[l][q][i]);
            }
        }
    }

    /** Provenance of the run. */
    Map<String, String> details() {
        return Map.of("mosa-experts", Integer.toString(settings.experts()),
                "mosa-consistency-weight", Float.toString(settings.consistencyWeight()),
                "mosa-seed", Long.toString(seed),
                "mosa-split", "up",
                "mosa-merge", "mean");
    }
}

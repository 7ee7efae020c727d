package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterConfig;
import io.lamina.engine.adapter.bottleneck.BottleneckSharing;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.ia3.Ia3Spec;
import io.lamina.engine.adapter.lokr.LokrSpec;
import io.lamina.engine.adapter.lokr.SokaSpec;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.mora.RankGate;
import io.lamina.engine.adapter.prompt.PromptTuningSpec;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One adapter training job.
 *
 * @param train              labelled examples; every label must be in {@code labels}
 * @param labels             the head's classes, in head order (distinct)
 * @param warmStartOrNull    LoRA factors to start from when its spec has the same rank and targets
 * @param listener           called after every step ({@code null} for none)
 * @param checkpointsOrNull  where to save/resume checkpoints ({@code null} for none)
 * @param provenanceDetails  extra provenance details copied into the adapter (e.g. dataset-sha256)
 * @param anchorOrNull       MOS adapter merging toward earlier tasks' adapters ({@code null} for none)
 * @param gateOrNull         MoRA: train {@code lora.rank()} new rank-1 experts gated per token; the experts of a
 *                           MoRA {@code warmStartOrNull} are kept frozen in front of them ({@code null}: plain LoRA)
 * @param trajectoryOrNull   collects snapshots of the factors along the run ({@code null}: none)
 * @param adapter            what to train: a {@code LoraSpec} (LoRA, DoRA, or MoRA with a gate), {@code Ia3Spec},
 *                           {@code LokrSpec}, {@code SokaSpec}, {@code BottleneckSpec} or {@code PromptTuningSpec}; read through
 *                           {@link #lora()}, {@link #ia3()}, {@link #lokr()}, {@link #soka()}, {@link #bottleneck()} and
 *                           {@link #prompt()}, each {@code null} for the other types
 * @param bottleneckSharing  with a bottleneck adapter: which part of a bottleneck {@code warmStartOrNull} the run continues
 *                           ({@link BottleneckSharing#SINGLE}, the default, continues all of it, as warm starts of the other kinds do); else {@code null}
 * @param principalOrNull    PiSSA or CorDA: start a plain LoRA from W's principal (or context-oriented) components
 *                           ({@link #withPrincipalInit}); used when no warm start of the same shape is given. {@code null}: PEFT's default init
 */
public record TrainingRequest(List<LabeledText> train, List<String> labels, AdapterConfig adapter, TrainingSpec training,
                              Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                              Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull, RankGate gateOrNull,
                              Trajectory trajectoryOrNull, BottleneckSharing bottleneckSharing, PrincipalInitialisation principalOrNull) {
    /** A LoRA job (or MoRA with a gate) that keeps trajectory snapshots. */
    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull, RankGate gateOrNull,
                           Trajectory trajectoryOrNull) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, anchorOrNull, gateOrNull, trajectoryOrNull,
                null, null);
    }

    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull, RankGate gateOrNull) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, anchorOrNull, gateOrNull, null);
    }

    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, anchorOrNull, null);
    }

    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, null, null);
    }

    /**
     * A training job of any type through the same trainer, head, schedule and AdamW: (IA)^3 vectors, LoKr factors,
     * SoKA stacks (initialised from the KPSVD of the base weights), bottleneck adapters (continuing all of a
     * bottleneck warm start of the same spec) or prompt tuning (the virtual tokens; no weight decay, which would pull
     * them toward the zero vector, no "off" state of a prompt), or a plain LoRA. A warm start of the same type and
     * spec on this base is continued. MoRA gates, MOS anchors, trajectories and principal inits are LoRA options:
     * the LoRA constructors and {@link #withPrincipalInit} take them.
     */
    public static TrainingRequest of(List<LabeledText> train, List<String> labels, AdapterConfig adapter, TrainingSpec training,
                                     Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                                     Map<String, String> provenanceDetails) {
        return of(train, labels, adapter, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails,
                adapter instanceof BottleneckSpec ? BottleneckSharing.SINGLE : null);
    }

    private static TrainingRequest of(List<LabeledText> train, List<String> labels, AdapterConfig adapter, TrainingSpec training,
                                      Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                                      Map<String, String> provenanceDetails, BottleneckSharing sharing) {
        if (adapter == null) throw new IllegalArgumentException("a training job needs the adapter's settings");
        return new TrainingRequest(train, labels, adapter, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails,
                null, null, null, sharing, null);
    }

    /** The same job with its LoRA factors initialised by PiSSA or CorDA ({@code null}: PEFT's default init). */
    public TrainingRequest withPrincipalInit(PrincipalInitialisation init) {
        return new TrainingRequest(train, labels, adapter, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails,
                anchorOrNull, gateOrNull, trajectoryOrNull, bottleneckSharing, init);
    }

    /**
     * A bottleneck-adapter training job (Houlsby / Pfeiffer): the same trainer, head and schedule. A bottleneck
     * {@code warmStartOrNull} of the same spec and base is continued as a whole ({@link BottleneckSharing#SINGLE}).
     */
    public static TrainingRequest bottleneck(List<LabeledText> train, List<String> labels, BottleneckSpec bottleneck, TrainingSpec training,
                                             Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                                             Map<String, String> provenanceDetails) {
        return bottleneck(train, labels, bottleneck, BottleneckSharing.SINGLE, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails);
    }

    /**
     * A bottleneck-adapter job for a task of a continual stream, whose {@code earlierOrNull} is the previous
     * task's adapter: {@code sharing} says which of its halves the new adapter continues (VL-Adapter's sharing,
     * see {@link BottleneckSharing}); the other half starts fresh. Without an earlier adapter (a stream's first
     * task) everything starts fresh. {@code SHARE_UP} and {@code SHARE_DOWN} refuse an earlier adapter that is not
     * a bottleneck adapter of the same spec on the same base; {@code SINGLE} then starts fresh, as LoRA warm starts do.
     */
    public static TrainingRequest bottleneck(List<LabeledText> train, List<String> labels, BottleneckSpec bottleneck, BottleneckSharing sharing,
                                             TrainingSpec training, Adapter earlierOrNull, ProgressListener listener,
                                             CheckpointStore checkpointsOrNull, Map<String, String> provenanceDetails) {
        if (bottleneck == null) throw new IllegalArgumentException("a bottleneck spec is required");
        return of(train, labels, bottleneck, training, earlierOrNull, listener, checkpointsOrNull, provenanceDetails, sharing);
    }

    /** The LoRA (DoRA, MoRA) to train, else {@code null}. */
    public LoraSpec lora() { return AdapterConfig.as(adapter, LoraSpec.class); }

    /** The (IA)^3 adapter to train, else {@code null}. */
    public Ia3Spec ia3() { return AdapterConfig.as(adapter, Ia3Spec.class); }

    /** The LoKr adapter to train, else {@code null}. */
    public LokrSpec lokr() { return AdapterConfig.as(adapter, LokrSpec.class); }

    /** The SoKA adapter to train, else {@code null}. */
    public SokaSpec soka() { return AdapterConfig.as(adapter, SokaSpec.class); }

    /** The bottleneck adapters to train, else {@code null}. */
    public BottleneckSpec bottleneck() { return AdapterConfig.as(adapter, BottleneckSpec.class); }

    /** The prompt-tuning adapter to train, else {@code null}. */
    public PromptTuningSpec prompt() { return AdapterConfig.as(adapter, PromptTuningSpec.class); }

    public TrainingRequest {
        if (train == null || train.isEmpty()) throw new IllegalArgumentException("training needs at least one example");
        if (labels == null || labels.isEmpty()) throw new IllegalArgumentException("training needs at least one label");
        if (training == null) throw new IllegalArgumentException("a training spec is required");
        if (adapter == null) throw new IllegalArgumentException("a training job needs the adapter's settings (a LoRA, (IA)^3, LoKr, SoKA, bottleneck or prompt-tuning spec)");
        if (adapter instanceof io.lamina.engine.adapter.sft.SftSpec) {
            throw new IllegalArgumentException("sparse fine-tuning trains through SparseFineTuner, not this trainer");
        }
        LoraSpec lora = adapter instanceof LoraSpec l ? l : null;
        if (lora == null && (gateOrNull != null || anchorOrNull != null || trajectoryOrNull != null)) {
            throw new IllegalArgumentException("MoRA gates, MOS anchors and trajectories apply to LoRA factors, not to "
                    + (adapter instanceof Ia3Spec ? "(IA)^3 vectors" : adapter instanceof BottleneckSpec ? "bottleneck adapters"
                    : adapter instanceof PromptTuningSpec ? "prompt-tuning virtual tokens" : "Kronecker factors"));
        }
        boolean bottleneck = adapter instanceof BottleneckSpec;
        if (!bottleneck && bottleneckSharing != null) throw new IllegalArgumentException("bottleneck sharing applies to bottleneck adapters only");
        if (bottleneck && bottleneckSharing == null) bottleneckSharing = BottleneckSharing.SINGLE;
        if (lora != null && lora.dora() && gateOrNull != null) throw new IllegalArgumentException("a MoRA run cannot use DoRA");
        if (principalOrNull != null) {
            String what = principalOrNull.method().id();
            if (lora == null) throw new IllegalArgumentException(what + " initialises LoRA factors; this job trains another adapter type");
            if (lora.dora()) throw new IllegalArgumentException(what + " initialises plain LoRA factors; DoRA's magnitudes have no principal-component init here");
            if (gateOrNull != null) throw new IllegalArgumentException(what + " initialises plain LoRA factors, not MoRA's gated experts");
            if (anchorOrNull != null) throw new IllegalArgumentException(what + " trains on W's residual; pulling its factors toward other adapters' (MOS) mixes two bases");
            if (trajectoryOrNull != null) throw new IllegalArgumentException(what + "'s factors live on W's residual, not on the base: their snapshots are not adapters of the base model");
        }
        train = List.copyOf(train);
        labels = List.copyOf(labels);
        checkExamples(train, labels, "");
        if (listener == null) listener = ProgressListener.NONE;
        provenanceDetails = provenanceDetails == null ? Map.of() : Map.copyOf(provenanceDetails);
    }

    /**
     * Distinct labels, and every example with a text and one of them ({@code where}: e.g. " of task 'x'", for the
     * messages); shared with the multi-task jobs ({@link TaskData}).
     */
    static void checkExamples(List<LabeledText> train, List<String> labels, String where) {
        Set<String> known = new HashSet<>(labels);
        if (known.size() != labels.size()) throw new IllegalArgumentException("labels must be distinct: " + labels);
        for (LabeledText t : train) {
            if (t == null || t.text() == null) throw new IllegalArgumentException("examples need a text");
            if (!known.contains(t.label())) throw new IllegalArgumentException("example label '" + t.label() + "' is not among " + labels + where);
        }
    }
}

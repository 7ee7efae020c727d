package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
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
 * @param lora               the LoRA (or DoRA, or MoRA with a gate) to train; {@code null} when another kind is given
 * @param ia3                the (IA)^3 adapter to train instead of a LoRA ({@link #ia3(List, List, Ia3Spec, TrainingSpec, Adapter, ProgressListener, CheckpointStore, Map)}), else {@code null}
 * @param lokr               the LoKr adapter to train ({@link #lokr}), else {@code null}
 * @param soka               the SoKA adapter to train ({@link #soka}), else {@code null}
 * @param bottleneck         the bottleneck adapters to train instead of a LoRA ({@link #bottleneck}), else {@code null}
 * @param bottleneckSharing  with {@code bottleneck}: which part of a bottleneck {@code warmStartOrNull} the run continues
 *                           ({@link BottleneckSharing#SINGLE}, the default, continues all of it, as warm starts of the other kinds do); else {@code null}
 * @param principalOrNull    PiSSA or CorDA: start a plain LoRA from W's principal (or context-oriented) components
 *                           ({@link #withPrincipalInit}); used when no warm start of the same shape is given. {@code null}: PEFT's default init
 * @param prompt             the prompt-tuning adapter to train ({@link #promptTuning}), else {@code null}
 */
public record TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                              Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                              Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull, RankGate gateOrNull,
                              Trajectory trajectoryOrNull, Ia3Spec ia3, LokrSpec lokr, SokaSpec soka, BottleneckSpec bottleneck,
                              BottleneckSharing bottleneckSharing, PrincipalInitialisation principalOrNull, PromptTuningSpec prompt) {
    /** Every kind but prompt tuning. */
    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull, RankGate gateOrNull,
                           Trajectory trajectoryOrNull, Ia3Spec ia3, LokrSpec lokr, SokaSpec soka, BottleneckSpec bottleneck,
                           BottleneckSharing bottleneckSharing, PrincipalInitialisation principalOrNull) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, anchorOrNull, gateOrNull, trajectoryOrNull,
                ia3, lokr, soka, bottleneck, bottleneckSharing, principalOrNull, null);
    }

    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull, RankGate gateOrNull,
                           Trajectory trajectoryOrNull, Ia3Spec ia3) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, anchorOrNull, gateOrNull, trajectoryOrNull, ia3,
                null, null, null, null, null);
    }

    /** The same job with its LoRA factors initialised by PiSSA or CorDA ({@code null}: PEFT's default init). */
    public TrainingRequest withPrincipalInit(PrincipalInitialisation init) {
        return new TrainingRequest(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails,
                anchorOrNull, gateOrNull, trajectoryOrNull, ia3, lokr, soka, bottleneck, bottleneckSharing, init, prompt);
    }

    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull, RankGate gateOrNull,
                           Trajectory trajectoryOrNull) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, anchorOrNull, gateOrNull, trajectoryOrNull, null);
    }

    /** An (IA)^3 training job: the same trainer, head and schedule, with (IA)^3 vectors in place of LoRA factors. */
    public static TrainingRequest ia3(List<LabeledText> train, List<String> labels, Ia3Spec ia3, TrainingSpec training,
                                      Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                                      Map<String, String> provenanceDetails) {
        return new TrainingRequest(train, labels, null, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, null, null, null, ia3);
    }

    /** A LoKr training job: the same trainer, head and schedule, with PEFT LoKr factors in place of LoRA factors. */
    public static TrainingRequest lokr(List<LabeledText> train, List<String> labels, LokrSpec lokr, TrainingSpec training,
                                       Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                                       Map<String, String> provenanceDetails) {
        return new TrainingRequest(train, labels, null, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, null, null, null, null, lokr, null, null, null, null);
    }

    /**
     * A SoKA training job: factors initialised from the KPSVD of the base weights (or a SoKA warm start of the
     * same spec), trained by the same loop.
     */
    public static TrainingRequest soka(List<LabeledText> train, List<String> labels, SokaSpec soka, TrainingSpec training,
                                       Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                                       Map<String, String> provenanceDetails) {
        return new TrainingRequest(train, labels, null, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, null, null, null, null, null, soka, null, null, null);
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
        return new TrainingRequest(train, labels, null, training, earlierOrNull, listener, checkpointsOrNull, provenanceDetails, null, null, null, null,
                null, null, bottleneck, sharing, null);
    }

    /**
     * A prompt-tuning job (PEFT's {@code PROMPT_TUNING}): the same trainer, head, schedule and AdamW, with the virtual
     * tokens as the only adapter parameters (no weight decay: it would pull them toward the zero vector, which is no
     * "off" state of a prompt). A prompt-tuning {@code warmStartOrNull} of the same spec on this base is continued.
     */
    public static TrainingRequest promptTuning(List<LabeledText> train, List<String> labels, PromptTuningSpec prompt, TrainingSpec training,
                                               Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                                               Map<String, String> provenanceDetails) {
        if (prompt == null) throw new IllegalArgumentException("a prompt-tuning spec is required");
        return new TrainingRequest(train, labels, null, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, null, null, null, null,
                null, null, null, null, null, prompt);
    }

    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull, RankGate gateOrNull) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, anchorOrNull, gateOrNull, null);
    }

    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, null, null);
    }

    public TrainingRequest(List<LabeledText> train, List<String> labels, LoraSpec lora, TrainingSpec training,
                           Adapter warmStartOrNull, ProgressListener listener, CheckpointStore checkpointsOrNull,
                           Map<String, String> provenanceDetails, ParameterAnchor anchorOrNull) {
        this(train, labels, lora, training, warmStartOrNull, listener, checkpointsOrNull, provenanceDetails, anchorOrNull, null);
    }

    public TrainingRequest {
        if (train == null || train.isEmpty()) throw new IllegalArgumentException("training needs at least one example");
        if (labels == null || labels.isEmpty()) throw new IllegalArgumentException("training needs at least one label");
        if (training == null) throw new IllegalArgumentException("a training spec is required");
        int kinds = (lora != null ? 1 : 0) + (ia3 != null ? 1 : 0) + (lokr != null ? 1 : 0) + (soka != null ? 1 : 0) + (bottleneck != null ? 1 : 0)
                + (prompt != null ? 1 : 0);
        if (kinds != 1) throw new IllegalArgumentException("exactly one of a LoRA, an (IA)^3, a LoKr, a SoKA, a bottleneck and a prompt-tuning spec is required, got " + kinds);
        if (lora == null && (gateOrNull != null || anchorOrNull != null || trajectoryOrNull != null)) {
            throw new IllegalArgumentException("MoRA gates, MOS anchors and trajectories apply to LoRA factors, not to "
                    + (ia3 != null ? "(IA)^3 vectors" : bottleneck != null ? "bottleneck adapters" : prompt != null ? "prompt-tuning virtual tokens" : "Kronecker factors"));
        }
        if (bottleneck != null && (gateOrNull != null || anchorOrNull != null || trajectoryOrNull != null)) {
            throw new IllegalArgumentException("MoRA gates, MOS anchors and trajectories apply to LoRA factors, not to bottleneck adapters");
        }
        if (bottleneck == null && bottleneckSharing != null) throw new IllegalArgumentException("bottleneck sharing applies to bottleneck adapters only");
        if (bottleneck != null && bottleneckSharing == null) bottleneckSharing = BottleneckSharing.SINGLE;
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

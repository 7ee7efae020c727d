package io.lamina.engine.adapter.lora;

import io.lamina.engine.adapter.BertModules;

import java.util.List;

/**
 * MTLoRA (METHODS.md §17, {@code scale-lab/MTLoRA}, mode {@code matrixv2}) on Lamina's encoder: one multi-task job
 * trains a task-agnostic LoRA (TA, shared by every task) on {@code targetModules} of every layer and, for each task,
 * a task-specific LoRA (TS) on {@code taskModules} of the last {@code taskLayers} layers only:
 * {@code y_t = W x + s_sh·(x A_shᵀ) B_shᵀ + s_t·(x A_tᵀ) B_tᵀ}. The scales are used directly as multipliers (MTLoRA's
 * {@code SHARED_SCALE} and task scale), not as {@code alpha/r}.
 *
 * <p>Placement: MTLoRA puts TS modules in the last block of each Swin stage, on the attention projection and the MLP
 * ({@code proj}, {@code fc1}, {@code fc2}; not {@code qkv}). MiniLM has no stages and the head reads only the last
 * layer, so the default is the last two of six layers (a third of the blocks, as Swin-T's 4 of 12) on
 * {@code attention.output.dense}, {@code intermediate.dense} and {@code output.dense}.
 *
 * @param sharedRank  rank of TA-LoRA
 * @param taskRank    rank of each TS-LoRA
 * @param sharedScale {@code s_sh}
 * @param taskScale   {@code s_t}
 * @param dropout     dropout on the LoRA input (both parts see the same mask)
 * @param targetModules TA-LoRA's modules, every layer
 * @param taskModules TS-LoRA's modules, a subset of {@code targetModules}
 * @param taskLayers  how many final layers carry TS-LoRA, at least 1
 */
public record MtLoraSpec(int sharedRank, int taskRank, float sharedScale, float taskScale, float dropout,
                         List<String> targetModules, List<String> taskModules, int taskLayers) {
    public static final List<String> DEFAULT_TASK_MODULES = List.of("attention.output.dense", "intermediate.dense", "output.dense");

    public MtLoraSpec {
        if (sharedRank < 1 || taskRank < 1 || sharedRank + taskRank > 256) {
            throw new IllegalArgumentException("MTLoRA ranks must be positive with shared + task rank <= 256, got " + sharedRank + " + " + taskRank);
        }
        if (!(sharedScale > 0) || Float.isInfinite(sharedScale) || !(taskScale > 0) || Float.isInfinite(taskScale)) {
            throw new IllegalArgumentException("MTLoRA scales must be positive numbers, got " + sharedScale + " and " + taskScale);
        }
        if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        if (targetModules == null || targetModules.isEmpty() || taskModules == null || taskModules.isEmpty()) {
            throw new IllegalArgumentException("MTLoRA needs shared and task-specific target modules");
        }
        for (String t : targetModules) {
            if (!BertModules.MODULES.contains(t)) throw new IllegalArgumentException("unsupported LoRA target module '" + t + "', supported: " + BertModules.MODULES);
        }
        if (!targetModules.containsAll(taskModules)) {
            throw new IllegalArgumentException("task-specific modules " + taskModules + " must be among the shared targets " + targetModules);
        }
        if (taskLayers < 1) throw new IllegalArgumentException("task-specific LoRA needs at least one layer, got " + taskLayers);
        targetModules = List.copyOf(targetModules);
        taskModules = List.copyOf(taskModules);
    }

    /**
     * TA rank 8 on every linear, TS rank 4 on the attention output and the FFN of the last two layers, both scales
     * 2 (Lamina's LoRA default {@code alpha/r = 16/8}), dropout 0.1.
     */
    public static MtLoraSpec defaults() {
        return new MtLoraSpec(8, 4, 2f, 2f, 0.1f, BertModules.MODULES, DEFAULT_TASK_MODULES, 2);
    }

    /** Whether layer {@code layer} of an encoder of {@code layers} layers carries TS-LoRA on {@code module}. */
    public boolean hasTaskLora(int layer, String module, int layers) {
        if (layers < taskLayers) throw new IllegalArgumentException("task-specific LoRA on the last " + taskLayers + " layers of a " + layers + "-layer encoder");
        return layer >= layers - taskLayers && taskModules.contains(module);
    }

    /**
     * The plain LoRA a task's adapter is exported as: rank {@code sharedRank + taskRank} on {@code targetModules},
     * {@code alpha = sharedScale · rank} so its scaling {@code alpha/r} is {@code s_sh}; its factors are
     * {@code [A_sh; A_t]} and {@code [B_sh | B_t·(s_t/s_sh)]} (zeros where TS-LoRA is not placed).
     */
    public LoraSpec exportSpec() {
        int rank = sharedRank + taskRank;
        return new LoraSpec(rank, sharedScale * rank, dropout, targetModules);
    }

    /** The TA-LoRA's factors as a LoRA spec (for its init; scaling unused). */
    public LoraSpec sharedSpec() {
        return new LoraSpec(sharedRank, sharedRank, dropout, targetModules);
    }

    /** A TS-LoRA's factors as a LoRA spec (for its init; scaling unused). */
    public LoraSpec taskSpec() {
        return new LoraSpec(taskRank, taskRank, dropout, taskModules);
    }
}

package io.lamina.contracts;

import java.util.List;

/**
 * The adapter a stream trains per task (LoRA; MoRA experts for the mora strategy).
 *
 * @param type      {@code lora} (default), {@code dora} (LoRA with PEFT's use_dora), {@code ia3} ((IA)^3 vectors on
 *                  {@code targetModules}, PEFT's BERT defaults when none are given; rank, alpha and dropout do not apply)
 *                  {@code lokr} (PEFT's LoKr: Kronecker factors with a rank-{@code rank} second factor, scale alpha/rank)
 *                  {@code bottleneck} (Houlsby / Pfeiffer adapters as {@code bottleneck} says; rank, alpha, dropout and
 *                  targetModules do not apply) or {@code prompt} (PEFT's prompt tuning: {@code rank} learned virtual tokens,
 *                  8 when 0, prepended to every text; alpha and dropout do not apply, targetModules and rankSweep are refused)
 * @param targetModules linears of each layer: {@code query}, {@code key}, {@code value}, {@code attention.output.dense},
 *                  {@code intermediate.dense}, {@code output.dense}
 * @param rankSweep when set, the rank is chosen per task by a sweep ({@code rank} is then ignored)
 * @param bottleneck settings of the {@code bottleneck} type ({@code null}: its defaults); refused with another type
 * @param init      how a {@code lora} adapter's factors start: {@code default} (PEFT's: A random, B zero), {@code pissa}
 *                  (W's principal components), {@code corda-ipm} (components oriented by the task's own inputs) or
 *                  {@code corda-kpm} (the components the stream's earlier tasks use least); {@code null} means default.
 *                  For {@code prompt}: {@code random} (default, N(0, 1)) or {@code sample_vocab} (rows of the word embeddings)
 */
public record AdapterSettings(String type, int rank, double alpha, double dropout, List<String> targetModules,
                              RankSweepSettings rankSweep, BottleneckSettings bottleneck, String init) {
    public AdapterSettings(String type, int rank, double alpha, double dropout, List<String> targetModules, RankSweepSettings rankSweep) {
        this(type, rank, alpha, dropout, targetModules, rankSweep, null, null);
    }
}

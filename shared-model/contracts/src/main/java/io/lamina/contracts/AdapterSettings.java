package io.lamina.contracts;

import java.util.List;

/**
 * The adapter a stream trains per task (LoRA; MoRA experts for the mora strategy).
 *
 * @param rankSweep when set, the rank is chosen per task by a sweep ({@code rank} is then ignored)
 */
public record AdapterSettings(String type, int rank, double alpha, double dropout, List<String> targetModules,
                              RankSweepSettings rankSweep) {
}

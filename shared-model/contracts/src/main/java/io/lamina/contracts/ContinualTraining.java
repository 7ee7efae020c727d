package io.lamina.contracts;

import java.util.List;

/**
 * What a task's training takes from the stream's past, set by the stream's strategy. Every part is
 * optional ({@code null} or empty: not used).
 *
 * @param extraDatasetIds      {@code joint}: earlier tasks' datasets, trained on together with this task's
 * @param continueFromAdapterId {@code sequential}: start from this adapter's factors and grow its head
 *                              (its classes kept, this task's added)
 * @param anchorAdapterIds     {@code per-task-retrieval} (MOS): pull the factors toward the mean of these
 *                             adapters after every step, with {@code anchorMomentum}
 * @param reuseCandidateIds    {@code sema}: adapters whose descriptors decide whether this task needs a
 *                             new adapter; with {@code expansionThreshold} on the z-score
 * @param rankGate             {@code mora}: train new rank-1 experts gated per token, behind the frozen
 *                             experts of {@code continueFromAdapterId}
 */
public record ContinualTraining(List<String> extraDatasetIds, String continueFromAdapterId, List<String> anchorAdapterIds,
                                Double anchorMomentum, List<String> reuseCandidateIds, Double expansionThreshold,
                                RankGateSettings rankGate) {
    public static final ContinualTraining NONE = new ContinualTraining(null, null, null, null, null, null, null);

    public ContinualTraining {
        extraDatasetIds = extraDatasetIds == null ? List.of() : List.copyOf(extraDatasetIds);
        anchorAdapterIds = anchorAdapterIds == null ? List.of() : List.copyOf(anchorAdapterIds);
        reuseCandidateIds = reuseCandidateIds == null ? List.of() : List.copyOf(reuseCandidateIds);
    }
}

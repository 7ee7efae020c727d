package io.lamina.contracts;

/** An edge of the lineage graph: this artifact was {@code relation} (e.g. warm-started-from, merged-from) {@code parentId}. */
public record LineageEdge(String parentId, String relation) {
    public static final String WARM_STARTED_FROM = "warm-started-from";
    public static final String MERGED_FROM = "merged-from";
    public static final String TRAINED_ON = "trained-on";
    /** sequential: trained on from this adapter's factors, head grown from its head. */
    public static final String CONTINUED_FROM = "continued-from";
    /** per-task-retrieval (MOS): pulled toward this adapter during training. */
    public static final String ANCHORED_TO = "anchored-to";
    /** sema: reuses this adapter's weights unchanged with a head of its own. */
    public static final String SHARES_WEIGHTS_OF = "shares-weights-of";
}

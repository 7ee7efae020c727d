package io.lamina.contracts;

/** An edge of the lineage graph: this artifact was {@code relation} (e.g. warm-started-from, merged-from) {@code parentId}. */
public record LineageEdge(String parentId, String relation) {
    public static final String WARM_STARTED_FROM = "warm-started-from";
    public static final String MERGED_FROM = "merged-from";
    public static final String TRAINED_ON = "trained-on";
}

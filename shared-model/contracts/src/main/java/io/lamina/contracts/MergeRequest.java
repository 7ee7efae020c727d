package io.lamina.contracts;

import java.util.List;
import java.util.Map;

/**
 * A merge of registered adapters into a new one: the REST body of {@code POST /api/merges} and
 * the payload of the {@code MergeAdapters} command.
 *
 * @param method      a merge method (PEFT's combination types, task_arithmetic, or a learned merge)
 * @param convention  {@code peft} (default) or {@code mergekit}
 * @param params      method parameters, e.g. density, majority_sign_method, svd_rank; learned
 *                    merges take {@code datasetId} (examples) and {@code steps}
 * @param seed        for randomized methods (DARE); the same recipe gives identical bytes
 * @param streamId    the stream the merged adapter is registered under (default: the first input's)
 */
public record MergeRequest(String method, String convention, List<WeightedAdapter> adapters, Map<String, Object> params,
                           Long seed, String streamId, String description) {
    /** One input of a merge or of a composed prediction. */
    public record WeightedAdapter(String id, Double weight) {
    }
}

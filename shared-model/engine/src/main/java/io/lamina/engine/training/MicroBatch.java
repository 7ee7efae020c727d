package io.lamina.engine.training;

import java.util.ArrayList;
import java.util.List;

/** The token ids and class indices of one micro-batch: positions {@code [from, to)} of a shuffled batch. */
record MicroBatch(List<long[]> ids, int[] labels) {
    static MicroBatch of(List<long[]> allIds, int[] allLabels, int[] batch, int from, int to) {
        List<long[]> ids = new ArrayList<>(to - from);
        int[] labels = new int[to - from];
        for (int i = from; i < to; i++) {
            ids.add(allIds.get(batch[i]));
            labels[i - from] = allLabels[batch[i]];
        }
        return new MicroBatch(ids, labels);
    }
}

package io.lamina.engine.data;

import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * Fisher–Yates in place, drawing each index from {@code nextInt(bound)}: callers pass their own
 * seeded generator ({@code Random}, {@code SplittableRandom}), so each keeps the exact sequence it
 * had and a seed reproduces its data.
 */
public final class Shuffle {
    private Shuffle() {
    }

    public static <T> void inPlace(List<T> list, IntUnaryOperator nextInt) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = nextInt.applyAsInt(i + 1);
            T tmp = list.get(i);
            list.set(i, list.get(j));
            list.set(j, tmp);
        }
    }
}

package io.lamina.engine.metrics;

/**
 * Backward compatibility of a model update (MUSCLE): the negative flip rate is the fraction of
 * examples the previous version got right and the new version gets wrong.
 */
public final class CompatibilityMetrics {

    /**
     * @param before whether the previous version was right on each example
     * @param after  whether the new version is right on the same examples
     */
    public static double negativeFlipRate(boolean[] before, boolean[] after) {
        if (before.length != after.length) {
            throw new IllegalArgumentException("before has " + before.length + " examples, after " + after.length);
        }
        if (before.length == 0) return 0.0;
        int flips = 0;
        for (int i = 0; i < before.length; i++) if (before[i] && !after[i]) flips++;
        return (double) flips / before.length;
    }

    private CompatibilityMetrics() {
    }
}

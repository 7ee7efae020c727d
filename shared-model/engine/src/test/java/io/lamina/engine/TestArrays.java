package io.lamina.engine;

/** Comparisons the engine's tests share. */
public final class TestArrays {
    private TestArrays() {
    }

    /** The largest absolute difference between two equally shaped matrices (e.g. embeddings). */
    public static float maxAbsDiff(float[][] x, float[][] y) {
        float d = 0;
        for (int i = 0; i < x.length; i++) {
            for (int j = 0; j < x[i].length; j++) d = Math.max(d, Math.abs(x[i][j] - y[i][j]));
        }
        return d;
    }
}

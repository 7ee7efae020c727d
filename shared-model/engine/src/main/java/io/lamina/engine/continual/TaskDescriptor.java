package io.lamina.engine.continual;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

import java.util.Arrays;
import java.util.List;

/**
 * SEMA's representation descriptor of a task, at adapter granularity: a linear autoencoder of the
 * frozen base model's sentence embeddings of the task's training texts, and the record of its
 * reconstruction losses on them. A new task whose texts the descriptor reconstructs much worse than
 * its own (a z-score above a threshold against every existing descriptor) is a distribution shift
 * and gets a new adapter; otherwise the best-matching adapter is reused.
 *
 * <p>SEMA trains its autoencoder by gradient descent; the optimum of a linear autoencoder with
 * {@code k} hidden units is the projection onto the top-{@code k} principal components, so the
 * descriptor is fitted exactly with a (double precision) eigendecomposition of the covariance.
 *
 * @param mean       the embeddings' mean, {@code [d]}
 * @param components orthonormal principal directions, {@code [k][d]}
 * @param lossMean   mean reconstruction loss (mean squared error per dimension) of the training texts
 * @param lossStd    its standard deviation (floored so a z-score is always defined)
 */
public record TaskDescriptor(float[] mean, float[][] components, float lossMean, float lossStd) {
    /**
     * Default expansion threshold on {@link #zScore}. SEMA's 2.0 belongs to its two-sided per-text
     * z on ViT token means; on MiniLM sentence embeddings a task's own unseen texts score 0.22-0.37 and
     * other WordNet noun or verb supersense tasks 0.77-1.37 ({@code TaskDescriptorCalibration}, docs/strategies.md).
     */
    public static final double DEFAULT_EXPANSION_THRESHOLD = 0.5;
    /** Hidden units of the autoencoder (SEMA uses 128 for 768-d ViT features; MiniLM has 384). */
    public static final int DEFAULT_COMPONENTS = 16;
    private static final float MIN_STD = 1e-6f;

    public TaskDescriptor {
        if (mean == null || mean.length == 0) throw new IllegalArgumentException("descriptor needs a mean");
        if (components == null) throw new IllegalArgumentException("descriptor needs components");
        for (float[] c : components) {
            if (c.length != mean.length) throw new IllegalArgumentException("component width " + c.length + " differs from mean width " + mean.length);
        }
        if (!(lossStd > 0) || !Float.isFinite(lossMean)) throw new IllegalArgumentException("descriptor loss record must be finite with std > 0");
    }

    /**
     * Fits the descriptor of one task's embeddings (rows of equal width, at least four). The loss
     * record must describe texts the autoencoder has not seen, or every new text looks like a shift
     * (with few examples the components fit their own texts almost exactly): it is taken 2-fold,
     * each half's losses under the descriptor fitted on the other half, while the descriptor itself
     * is fitted on all the texts.
     */
    public static TaskDescriptor fit(float[][] embeddings, int components) {
        int n = embeddings.length;
        if (n < 4) throw new IllegalArgumentException("a descriptor needs at least 4 examples, got " + n);
        int half = n / 2;
        float[][] first = java.util.Arrays.copyOfRange(embeddings, 0, half);
        float[][] second = java.util.Arrays.copyOfRange(embeddings, half, n);
        TaskDescriptor onFirst = subspace(first, components), onSecond = subspace(second, components);
        double sum = 0, sq = 0;
        for (float[] e : second) {
            double l = onFirst.loss(e);
            sum += l;
            sq += l * l;
        }
        for (float[] e : first) {
            double l = onSecond.loss(e);
            sum += l;
            sq += l * l;
        }
        double lm = sum / n;
        double std = Math.sqrt(Math.max(0, sq / n - lm * lm));
        TaskDescriptor all = subspace(embeddings, components);
        return new TaskDescriptor(all.mean, all.components, (float) lm, (float) Math.max(std, MIN_STD));
    }

    /** Mean and top principal directions (at most {@code n / 4}), with a placeholder loss record. */
    private static TaskDescriptor subspace(float[][] embeddings, int components) {
        int n = embeddings.length;
        int d = embeddings[0].length;
        // at most one component per 4 texts: more would memorise the texts rather than describe the task
        int k = Math.max(1, Math.min(components, Math.min(n / 4, d)));
        double[] mu = new double[d];
        for (float[] e : embeddings) {
            if (e.length != d) throw new IllegalArgumentException("embeddings must have equal width");
            for (int j = 0; j < d; j++) mu[j] += e[j];
        }
        for (int j = 0; j < d; j++) mu[j] /= n;
        DMatrixRMaj cov = new DMatrixRMaj(d, d);
        double[] r = new double[d];
        for (float[] e : embeddings) {
            for (int j = 0; j < d; j++) r[j] = e[j] - mu[j];
            for (int a = 0; a < d; a++) {
                double ra = r[a];
                if (ra == 0) continue;
                int row = a * d;
                for (int b = a; b < d; b++) cov.data[row + b] += ra * r[b];
            }
        }
        for (int a = 0; a < d; a++) {
            for (int b = a; b < d; b++) {
                double v = cov.data[a * d + b] / Math.max(1, n - 1);
                cov.data[a * d + b] = v;
                cov.data[b * d + a] = v;
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
        if (!eig.decompose(cov)) throw new IllegalStateException("eigendecomposition of the embedding covariance failed");
        Integer[] order = new Integer[d];
        for (int i = 0; i < d; i++) order[i] = i;
        java.util.Arrays.sort(order, (x, y) -> Double.compare(eig.getEigenvalue(y).real, eig.getEigenvalue(x).real));
        float[][] comps = new float[k][d];
        for (int c = 0; c < k; c++) {
            DMatrixRMaj v = eig.getEigenVector(order[c]);
            double norm = 0;
            for (int j = 0; j < d; j++) norm += v.data[j] * v.data[j];
            norm = Math.sqrt(norm);
            for (int j = 0; j < d; j++) comps[c][j] = (float) (v.data[j] / norm);
        }
        float[] meanF = new float[d];
        for (int j = 0; j < d; j++) meanF[j] = (float) mu[j];
        return new TaskDescriptor(meanF, comps, 0f, 1f);
    }

    /** Reconstruction loss of one embedding: mean squared error per dimension. */
    public double loss(float[] x) {
        int d = mean.length;
        if (x.length != d) throw new IllegalArgumentException("embedding width " + x.length + " differs from descriptor width " + d);
        double[] r = new double[d];
        double total = 0;
        for (int j = 0; j < d; j++) {
            r[j] = x[j] - mean[j];
            total += r[j] * r[j];
        }
        double kept = 0;
        for (float[] c : components) {
            double p = 0;
            for (int j = 0; j < d; j++) p += c[j] * r[j];
            kept += p * p;
        }
        return Math.max(0, total - kept) / d;
    }

    /**
     * The z-score of a batch: mean over its texts of {@code max(0, loss - lossMean) / lossStd}. SEMA
     * takes {@code |loss - lossMean|}; here only a worse reconstruction counts, because texts the
     * descriptor reconstructs better than its record (e.g. texts it was fitted on, which a later task
     * may share) are the opposite of a shift.
     */
    public double zScore(List<float[]> embeddings) {
        if (embeddings.isEmpty()) throw new IllegalArgumentException("z-score of no embeddings");
        double z = 0;
        for (float[] e : embeddings) z += Math.max(0, loss(e) - lossMean) / lossStd;
        return z / embeddings.size();
    }
}

package io.lamina.engine.training;

/**
 * Optimisation settings for one adapter training run.
 *
 * @param epochs          passes over the training set, at least 1
 * @param batchSize       examples per step, at least 1 (the last batch of an epoch may be smaller)
 * @param learningRate    peak AdamW learning rate, for the LoRA factors and the head
 * @param weightDecay     decoupled AdamW weight decay on the LoRA factors, {@code >= 0}
 * @param warmupRatio     share of the steps with a linear warm-up, in {@code [0, 1)}; cosine decay after
 * @param maxGradNorm     global gradient-norm clip; {@code 0} turns clipping off
 * @param seed            drives LoRA init, batch order (epoch {@code e} shuffles with {@code seed + e}) and dropout
 * @param maxLength       tokens per example including {@code [CLS]}/{@code [SEP]}, in {@code [3, 512]}
 * @param checkpointEvery save a checkpoint every this many steps; {@code 0} never
 */
public record TrainingSpec(int epochs, int batchSize, float learningRate, float weightDecay, float warmupRatio,
                           float maxGradNorm, long seed, int maxLength, int checkpointEvery) {
    public TrainingSpec {
        if (epochs < 1 || epochs > 1000) throw new IllegalArgumentException("epochs must be in [1, 1000], got " + epochs);
        if (batchSize < 1 || batchSize > 4096) throw new IllegalArgumentException("batchSize must be in [1, 4096], got " + batchSize);
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) throw new IllegalArgumentException("learningRate must be a positive number, got " + learningRate);
        if (!(weightDecay >= 0) || Float.isInfinite(weightDecay)) throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay);
        if (!(warmupRatio >= 0 && warmupRatio < 1)) throw new IllegalArgumentException("warmupRatio must be in [0, 1), got " + warmupRatio);
        if (!(maxGradNorm >= 0) || Float.isInfinite(maxGradNorm)) throw new IllegalArgumentException("maxGradNorm must be >= 0 (0 = no clipping), got " + maxGradNorm);
        if (maxLength < 3 || maxLength > 512) throw new IllegalArgumentException("maxLength must be in [3, 512], got " + maxLength);
        if (checkpointEvery < 0) throw new IllegalArgumentException("checkpointEvery must be >= 0 (0 = never), got " + checkpointEvery);
    }

    /**
     * Defaults for short-gloss text classification on CPU: 3 epochs, batch 32, lr 1e-3 (LoRA
     * and head), weight decay 0.01, 10% warm-up, clip 1.0, seed 42, 64 tokens, checkpoint every
     * 20 steps.
     */
    public static TrainingSpec defaults() {
        return new TrainingSpec(3, 32, 1e-3f, 0.01f, 0.1f, 1.0f, 42L, 64, 20);
    }

    public TrainingSpec withEpochs(int e) {
        return new TrainingSpec(e, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, checkpointEvery);
    }

    public TrainingSpec withBatchSize(int b) {
        return new TrainingSpec(epochs, b, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, checkpointEvery);
    }

    public TrainingSpec withSeed(long s) {
        return new TrainingSpec(epochs, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, s, maxLength, checkpointEvery);
    }

    public TrainingSpec withCheckpointEvery(int every) {
        return new TrainingSpec(epochs, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, every);
    }
}

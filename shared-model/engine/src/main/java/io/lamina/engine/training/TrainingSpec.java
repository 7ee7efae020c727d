package io.lamina.engine.training;

/**
 * Optimisation settings for one adapter training run.
 *
 * @param epochs               passes over the training set, at least 1
 * @param batchSize            examples per micro-batch (one forward/backward), at least 1 (the last batch of an epoch may be smaller)
 * @param learningRate         peak AdamW learning rate, for the adapter's parameters and the head
 * @param weightDecay          decoupled AdamW weight decay on the LoRA factors, {@code >= 0}
 * @param warmupRatio          share of the steps with a linear warm-up, in {@code [0, 1)}; cosine decay after
 * @param maxGradNorm          global gradient-norm clip; {@code 0} turns clipping off
 * @param seed                 drives LoRA init, batch order (epoch {@code e} shuffles with {@code seed + e}), dropout and the validation split
 * @param maxLength            tokens per example including {@code [CLS]}/{@code [SEP]}, in {@code [3, 512]}
 * @param checkpointEvery      save a checkpoint every this many optimizer steps; {@code 0} never
 * @param gradientAccumulation micro-batches per optimizer step, in {@code [1, 1024]}: a step sees
 *                             {@code batchSize * gradientAccumulation} examples, the gradients of its
 *                             micro-batches summed with weights {@code n_i / N}, so it is the update of one
 *                             batch of that size (same examples, same order) computed in smaller pieces
 * @param validationFraction   share of each class's training examples held out for validation, in {@code [0, 0.5]};
 *                             {@code 0}: no validation. With validation, the weights of the epoch with the lowest
 *                             validation loss are the result
 * @param patience             early stopping: stop after this many epochs in a row without a lower validation loss;
 *                             {@code 0}: train every epoch (needs {@code validationFraction > 0} when positive)
 */
public record TrainingSpec(int epochs, int batchSize, float learningRate, float weightDecay, float warmupRatio,
                           float maxGradNorm, long seed, int maxLength, int checkpointEvery,
                           int gradientAccumulation, float validationFraction, int patience) {
    public TrainingSpec {
        if (epochs < 1 || epochs > 1000) throw new IllegalArgumentException("epochs must be in [1, 1000], got " + epochs);
        if (batchSize < 1 || batchSize > 4096) throw new IllegalArgumentException("batchSize must be in [1, 4096], got " + batchSize);
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) throw new IllegalArgumentException("learningRate must be a positive number, got " + learningRate);
        if (!(weightDecay >= 0) || Float.isInfinite(weightDecay)) throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay);
        if (!(warmupRatio >= 0 && warmupRatio < 1)) throw new IllegalArgumentException("warmupRatio must be in [0, 1), got " + warmupRatio);
        if (!(maxGradNorm >= 0) || Float.isInfinite(maxGradNorm)) throw new IllegalArgumentException("maxGradNorm must be >= 0 (0 = no clipping), got " + maxGradNorm);
        if (maxLength < 3 || maxLength > 512) throw new IllegalArgumentException("maxLength must be in [3, 512], got " + maxLength);
        if (checkpointEvery < 0) throw new IllegalArgumentException("checkpointEvery must be >= 0 (0 = never), got " + checkpointEvery);
        if (gradientAccumulation < 1 || gradientAccumulation > 1024) {
            throw new IllegalArgumentException("gradientAccumulation must be in [1, 1024], got " + gradientAccumulation);
        }
        if (!(validationFraction >= 0 && validationFraction <= 0.5f)) {
            throw new IllegalArgumentException("validationFraction must be in [0, 0.5] (0 = no validation), got " + validationFraction);
        }
        if (patience < 0) throw new IllegalArgumentException("patience must be >= 0 (0 = no early stopping), got " + patience);
        if (patience > 0 && validationFraction == 0f) throw new IllegalArgumentException("early stopping (patience " + patience + ") needs a validationFraction > 0");
    }

    /** Without gradient accumulation, validation or early stopping. */
    public TrainingSpec(int epochs, int batchSize, float learningRate, float weightDecay, float warmupRatio,
                        float maxGradNorm, long seed, int maxLength, int checkpointEvery) {
        this(epochs, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, checkpointEvery, 1, 0f, 0);
    }

    /**
     * Defaults for short-gloss text classification on CPU: 3 epochs, batch 32, lr 1e-3 (LoRA
     * and head), weight decay 0.01, 10% warm-up, clip 1.0, seed 42, 64 tokens, checkpoint every
     * 20 steps; no accumulation, no validation split.
     */
    public static TrainingSpec defaults() {
        return new TrainingSpec(3, 32, 1e-3f, 0.01f, 0.1f, 1.0f, 42L, 64, 20);
    }

    /** Examples per optimizer step: {@code batchSize * gradientAccumulation}. */
    public int effectiveBatchSize() { return batchSize * gradientAccumulation; }

    public TrainingSpec withEpochs(int e) {
        return new TrainingSpec(e, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, checkpointEvery,
                gradientAccumulation, validationFraction, patience);
    }

    public TrainingSpec withBatchSize(int b) {
        return new TrainingSpec(epochs, b, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, checkpointEvery,
                gradientAccumulation, validationFraction, patience);
    }

    public TrainingSpec withSeed(long s) {
        return new TrainingSpec(epochs, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, s, maxLength, checkpointEvery,
                gradientAccumulation, validationFraction, patience);
    }

    public TrainingSpec withCheckpointEvery(int every) {
        return new TrainingSpec(epochs, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, every,
                gradientAccumulation, validationFraction, patience);
    }

    /** {@code k} micro-batches of {@link #batchSize()} per optimizer step. */
    public TrainingSpec withGradientAccumulation(int k) {
        return new TrainingSpec(epochs, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, checkpointEvery,
                k, validationFraction, patience);
    }

    /** Hold out {@code fraction} of each class for validation and stop after {@code patience} epochs without improvement (0: never stop). */
    public TrainingSpec withValidation(float fraction, int patienceEpochs) {
        return new TrainingSpec(epochs, batchSize, learningRate, weightDecay, warmupRatio, maxGradNorm, seed, maxLength, checkpointEvery,
                gradientAccumulation, fraction, patienceEpochs);
    }
}

package io.lamina.contracts;

/**
 * Optimisation settings of one training job. The nullable fields take the training worker's defaults.
 *
 * @param trajectorySnapshots  snapshots of the adapter kept along training for ICM-LoRA (evenly spaced
 *                             over the second half of the run); {@code null} for the default 4, 0 for none
 * @param gradientAccumulation micro-batches of {@code batchSize} per optimizer step, in [1, 1024]; {@code null}: 1
 * @param validationFraction   share of each class's training examples held out to pick the best epoch, in
 *                             [0, 0.5]; {@code null} or 0: none
 * @param patience             stop after this many epochs without a lower validation loss; {@code null} or 0:
 *                             never (a positive value needs a validation fraction)
 */
public record TrainingSettings(int epochs, int batchSize, double learningRate, long seed, int maxLength, Integer trajectorySnapshots,
                               Integer gradientAccumulation, Double validationFraction, Integer patience) {
    public static final int DEFAULT_TRAJECTORY_SNAPSHOTS = 4;

    public TrainingSettings {
        if (trajectorySnapshots != null && (trajectorySnapshots < 0 || trajectorySnapshots > 64)) {
            throw new IllegalArgumentException("trajectorySnapshots must be in [0, 64], got " + trajectorySnapshots);
        }
        if (gradientAccumulation != null && (gradientAccumulation < 1 || gradientAccumulation > 1024)) {
            throw new IllegalArgumentException("gradientAccumulation must be in [1, 1024], got " + gradientAccumulation);
        }
        if (validationFraction != null && !(validationFraction >= 0 && validationFraction <= 0.5)) {
            throw new IllegalArgumentException("validationFraction must be in [0, 0.5], got " + validationFraction);
        }
        if (patience != null && patience < 0) throw new IllegalArgumentException("patience must be >= 0, got " + patience);
        if (patience != null && patience > 0 && (validationFraction == null || validationFraction == 0)) {
            throw new IllegalArgumentException("patience " + patience + " needs a validationFraction > 0 to measure improvement on");
        }
    }

    public int snapshots() {
        return trajectorySnapshots == null ? DEFAULT_TRAJECTORY_SNAPSHOTS : trajectorySnapshots;
    }
}

package io.lamina.contracts;

/**
 * Optimisation settings of one training job.
 *
 * @param trajectorySnapshots snapshots of the adapter kept along training for ICM-LoRA (evenly spaced
 *                            over the second half of the run); {@code null} for the default 4, 0 for none
 */
public record TrainingSettings(int epochs, int batchSize, double learningRate, long seed, int maxLength, Integer trajectorySnapshots) {
    public static final int DEFAULT_TRAJECTORY_SNAPSHOTS = 4;

    public TrainingSettings {
        if (trajectorySnapshots != null && (trajectorySnapshots < 0 || trajectorySnapshots > 64)) {
            throw new IllegalArgumentException("trajectorySnapshots must be in [0, 64], got " + trajectorySnapshots);
        }
    }

    public int snapshots() {
        return trajectorySnapshots == null ? DEFAULT_TRAJECTORY_SNAPSHOTS : trajectorySnapshots;
    }
}

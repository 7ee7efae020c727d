package io.lamina.engine.training;

/** Receives {@link TrainingProgress} after every step; an exception thrown here aborts the run. */
@FunctionalInterface
public interface ProgressListener {
    ProgressListener NONE = p -> { };

    void onProgress(TrainingProgress p);
}

package io.lamina.engine.training;

import java.util.Optional;

/**
 * Where a training run keeps its latest checkpoint (safetensors bytes), so a retried job
 * resumes instead of starting over. Implementations must make {@link #save} atomic: a reader
 * sees the previous or the new checkpoint, never a torn one.
 */
public interface CheckpointStore {
    Optional<byte[]> load();

    void save(byte[] checkpoint);

    void clear();
}

package io.lamina.engine.training;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/** Keeps the checkpoint as {@code checkpoint.safetensors} in a directory; writes via a temp file and a move. */
public final class DirectoryCheckpointStore implements CheckpointStore {
    public static final String FILE_NAME = "checkpoint.safetensors";
    private final Path dir;

    public DirectoryCheckpointStore(Path dir) {
        this.dir = dir;
    }

    public Path file() { return dir.resolve(FILE_NAME); }

    @Override
    public Optional<byte[]> load() {
        try {
            return Files.exists(file()) ? Optional.of(Files.readAllBytes(file())) : Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void save(byte[] checkpoint) {
        try {
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, FILE_NAME, ".tmp");
            try {
                Files.write(tmp, checkpoint);
                try {
                    Files.move(tmp, file(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file(), StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void clear() {
        try {
            Files.deleteIfExists(file());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

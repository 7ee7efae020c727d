package io.lamina.engine.io;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.NoSuchElementException;

/**
 * A {@link BlobStore} on a local directory: blob {@code sha256/ab/ab12...} is the file
 * {@code <root>/sha256/ab/ab12...}. Writes go to a temporary file in the target directory which is
 * then moved into place atomically, so readers never see a partial blob; a blob that is already
 * stored with identical bytes is left untouched. Keys are checked against {@link #KEY_PATTERN}
 * before any path is built, and the resolved path is checked to lie under the root.
 */
public final class FileSystemBlobStore implements BlobStore {

    private final Path root;

    public FileSystemBlobStore(Path root) {
        if (root == null) throw new IllegalArgumentException("blob store root must not be null");
        this.root = root.toAbsolutePath().normalize();
        try {
            Files.createDirectories(this.root);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create blob store root " + this.root, e);
        }
    }

    public Path root() { return root; }

    @Override
    public BlobRef put(byte[] content) {
        if (content == null) throw new IllegalArgumentException("blob content must not be null");
        String sha = BlobStore.sha256Hex(content);
        String key = BlobStore.keyFor(sha);
        Path target = pathOf(key);
        try {
            if (Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS)
                    && Files.size(target) == content.length
                    && Arrays.equals(Files.readAllBytes(target), content)) {
                return new BlobRef(key, sha, content.length);
            }
            Path dir = target.getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, ".tmp-", ".part");
            try {
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                    ByteBuffer buf = ByteBuffer.wrap(content);
                    while (buf.hasRemaining()) ch.write(buf);
                    ch.force(true);
                }
                try {
                    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store blob " + key, e);
        }
        return new BlobRef(key, sha, content.length);
    }

    @Override
    public byte[] get(String key) {
        String sha = BlobStore.validateKey(key);
        Path p = pathOf(key);
        byte[] content;
        try {
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) throw new NoSuchElementException("no blob " + key);
            content = Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new NoSuchElementException("no blob " + key);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read blob " + key, e);
        }
        String actual = BlobStore.sha256Hex(content);
        if (!actual.equals(sha)) throw new IllegalStateException("blob " + key + " is corrupt: its content has sha256 " + actual);
        return content;
    }

    @Override
    public boolean exists(String key) {
        BlobStore.validateKey(key);
        return Files.isRegularFile(pathOf(key), LinkOption.NOFOLLOW_LINKS);
    }

    private Path pathOf(String key) {
        BlobStore.validateKey(key);
        Path p = root.resolve(key).normalize();
        if (!p.startsWith(root) || p.equals(root)) throw new IllegalArgumentException("blob key '" + key + "' resolves outside the store");
        return p;
    }
}

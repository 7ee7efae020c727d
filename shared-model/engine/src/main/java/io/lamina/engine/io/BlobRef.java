package io.lamina.engine.io;

/**
 * A stored blob: its content address, the lowercase hex sha256 of its bytes, and its size.
 *
 * @param key e.g. {@code sha256/ab/ab12...} (see {@link BlobStore#keyFor})
 */
public record BlobRef(String key, String sha256, long size) {
    public BlobRef {
        BlobStore.validateKey(key);
        if (!key.endsWith("/" + sha256)) throw new IllegalArgumentException("blob key " + key + " does not match sha256 " + sha256);
        if (size < 0) throw new IllegalArgumentException("blob size must not be negative, got " + size);
    }
}

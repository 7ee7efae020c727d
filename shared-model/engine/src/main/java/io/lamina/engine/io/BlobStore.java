package io.lamina.engine.io;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Content-addressed storage of immutable byte blobs. Keys are derived from the content
 * ({@code sha256/<first two hex digits>/<64 hex digits>}), so storing the same bytes twice gives the
 * same key, and a reader can always check what it got.
 */
public interface BlobStore {

    /** The only keys a store accepts: no other string can name a blob, so none can escape the store. */
    Pattern KEY_PATTERN = Pattern.compile("sha256/([0-9a-f]{2})/([0-9a-f]{64})");

    /** Stores {@code content} (if not already stored) and returns its reference. */
    BlobRef put(byte[] content);

    /**
     * The blob's bytes, after checking that their sha256 matches the key.
     *
     * @throws IllegalArgumentException       if the key is not a valid blob key
     * @throws java.util.NoSuchElementException if no blob has that key
     * @throws IllegalStateException          if the stored bytes do not match the key (corruption)
     */
    byte[] get(String key);

    /** Whether a blob with this key is stored. Invalid keys are rejected, not answered with false. */
    boolean exists(String key);

    /** Lowercase hex sha256 of {@code content}. */
    static String sha256Hex(byte[] content) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(content));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** The key for a lowercase hex sha256. */
    static String keyFor(String sha256) {
        if (sha256 == null || !sha256.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("sha256 must be 64 lowercase hex digits, got " + sha256);
        return "sha256/" + sha256.substring(0, 2) + "/" + sha256;
    }

    /** Checks a key strictly and returns its sha256 part. */
    static String validateKey(String key) {
        if (key == null) throw new IllegalArgumentException("blob key must not be null");
        var m = KEY_PATTERN.matcher(key);
        if (!m.matches() || !m.group(2).startsWith(m.group(1))) {
            String shown = key.length() > 100 ? key.substring(0, 100) + "..." : key;
            throw new IllegalArgumentException("invalid blob key '" + shown + "', expected sha256/<2 hex>/<64 lowercase hex> with matching prefix");
        }
        return m.group(2);
    }
}

package io.lamina.engine.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FileSystemBlobStoreTest {

    @TempDir
    Path root;

    private static final byte[] HELLO = "hello".getBytes(StandardCharsets.UTF_8);
    // sha256("hello")
    private static final String HELLO_SHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    @Test
    void putIsContentAddressedAndGetVerifies() {
        FileSystemBlobStore store = new FileSystemBlobStore(root);
        BlobRef ref = store.put(HELLO);
        assertThat(ref).isEqualTo(new BlobRef("sha256/2c/" + HELLO_SHA, HELLO_SHA, 5));
        assertThat(Files.isRegularFile(root.resolve("sha256/2c/" + HELLO_SHA))).isTrue();
        assertThat(store.exists(ref.key())).isTrue();
        assertThat(store.get(ref.key())).isEqualTo(HELLO);
        BlobRef empty = store.put(new byte[0]);
        assertThat(empty.size()).isZero();
        assertThat(store.get(empty.key())).isEmpty();
    }

    @Test
    void identicalBlobIsNotRewrittenAndNoTempFilesRemain() throws IOException {
        FileSystemBlobStore store = new FileSystemBlobStore(root);
        BlobRef ref = store.put(HELLO);
        Path p = root.resolve(ref.key());
        FileTime old = FileTime.fromMillis(1_000_000_000_000L);
        Files.setLastModifiedTime(p, old);
        assertThat(store.put(HELLO.clone())).isEqualTo(ref);
        assertThat(Files.getLastModifiedTime(p)).isEqualTo(old);
        try (Stream<Path> files = Files.walk(root)) {
            assertThat(files.filter(Files::isRegularFile).map(f -> f.getFileName().toString()).toList()).containsExactly(HELLO_SHA);
        }
    }

    @Test
    void corruptBlobIsDetectedOnReadAndRepairedByPut() throws IOException {
        FileSystemBlobStore store = new FileSystemBlobStore(root);
        BlobRef ref = store.put(HELLO);
        Files.write(root.resolve(ref.key()), "jello".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> store.get(ref.key()))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("corrupt");
        store.put(HELLO);
        assertThat(store.get(ref.key())).isEqualTo(HELLO);
    }

    @Test
    void missingBlob() {
        FileSystemBlobStore store = new FileSystemBlobStore(root);
        String key = BlobStore.keyFor(HELLO_SHA);
        assertThat(store.exists(key)).isFalse();
        assertThatThrownBy(() -> store.get(key)).isInstanceOf(NoSuchElementException.class).hasMessageContaining(key);
    }

    @Test
    void rejectsKeysThatCouldEscapeTheRoot() throws IOException {
        Path inside = root.resolve("store");
        FileSystemBlobStore store = new FileSystemBlobStore(inside);
        Files.writeString(root.resolve("secret"), "x");
        List<String> bad = List.of(
                "../secret", "../x", "/etc/passwd", "sha256/../../etc/passwd", "sha256/2c/../../../secret",
                "sha256/2c/" + HELLO_SHA + "/..", "sha256/2c/" + HELLO_SHA.toUpperCase(), "sha256/ff/" + HELLO_SHA,
                "sha256/2c/" + HELLO_SHA + "\n", "sha256\\2c\\" + HELLO_SHA, "./sha256/2c/" + HELLO_SHA,
                "/sha256/2c/" + HELLO_SHA, "sha256/2c/" + HELLO_SHA.substring(1), "", "sha256//" + HELLO_SHA);
        for (String key : bad) {
            assertThatThrownBy(() -> store.get(key)).as(key).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("invalid blob key");
            assertThatThrownBy(() -> store.exists(key)).as(key).isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> store.get(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> BlobStore.keyFor("../" + HELLO_SHA.substring(3))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void blobRefChecksConsistency() {
        assertThatThrownBy(() -> new BlobRef("sha256/2c/" + HELLO_SHA, "0".repeat(64), 5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BlobRef("sha256/2c/" + HELLO_SHA, HELLO_SHA, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}

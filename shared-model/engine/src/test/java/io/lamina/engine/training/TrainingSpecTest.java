package io.lamina.engine.training;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TrainingSpecTest {
    @Test
    void defaultsAreValidAndBadValuesRejected() {
        TrainingSpec d = TrainingSpec.defaults();
        assertThat(d.batchSize()).isEqualTo(32);
        assertThatThrownBy(() -> new TrainingSpec(0, 32, 1e-3f, 0f, 0f, 1f, 1, 64, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TrainingSpec(1, 32, Float.NaN, 0f, 0f, 1f, 1, 64, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TrainingSpec(1, 32, 1e-3f, 0f, 1f, 1f, 1, 64, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TrainingSpec(1, 32, 1e-3f, 0f, 0f, 1f, 1, 2, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new TrainingSpec(1, 32, 1e-3f, 0f, 0f, 1f, 1, 64, -1)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void scheduleWarmsUpThenDecays() {
        assertThat(LoraTrainer.learningRate(0, 100, 10, 1f)).isEqualTo(0.1f);
        assertThat(LoraTrainer.learningRate(9, 100, 10, 1f)).isEqualTo(1f);
        assertThat(LoraTrainer.learningRate(10, 100, 10, 1f)).isEqualTo(1f);
        assertThat(LoraTrainer.learningRate(55, 100, 10, 1f)).isBetween(0.45f, 0.55f);
        assertThat(LoraTrainer.learningRate(99, 100, 10, 1f)).isBetween(0f, 0.01f);
        assertThat(LoraTrainer.learningRate(0, 1, 0, 1f)).isEqualTo(1f);
    }

    @Test
    void directoryStoreRoundTrips(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        DirectoryCheckpointStore store = new DirectoryCheckpointStore(dir.resolve("job"));
        assertThat(store.load()).isEmpty();
        store.save(new byte[]{1, 2, 3});
        store.save(new byte[]{4, 5});
        assertThat(store.load()).hasValueSatisfying(b -> assertThat(b).containsExactly(4, 5));
        try (var files = Files.list(dir.resolve("job"))) {
            assertThat(files.toList()).containsExactly(store.file());
        }
        store.clear();
        assertThat(store.load()).isEmpty();
    }
}

package io.lamina.trainingworker.domain;

import io.lamina.contracts.Json;
import io.lamina.contracts.TrainingSettings;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A stream policy's training settings as the engine's training spec: given values win, absent ones are the engine's defaults. */
class TrainingSettingsMappingTest {

    @Test
    void accumulationAndEarlyStoppingReachTheTrainer() {
        TrainingSpec spec = TrainingJobs.trainingSpec(new TrainingSettings(5, 16, 2e-3, 7, 48, null, 4, 0.2, 2));
        assertThat(spec.epochs()).isEqualTo(5);
        assertThat(spec.batchSize()).isEqualTo(16);
        assertThat(spec.gradientAccumulation()).isEqualTo(4);
        assertThat(spec.validationFraction()).isEqualTo(0.2f);
        assertThat(spec.patience()).isEqualTo(2);
    }

    @Test
    void absentSettingsAreTheEngineDefaults() {
        TrainingSpec d = TrainingSpec.defaults();
        TrainingSpec spec = TrainingJobs.trainingSpec(Json.read("{\"epochs\":0,\"batchSize\":0,\"learningRate\":0,\"seed\":42,\"maxLength\":0}",
                TrainingSettings.class));
        assertThat(spec).isEqualTo(d);
    }

    @Test
    void aPolicyWithImpossibleSettingsIsRefusedWithTheReason() {
        assertThatThrownBy(() -> new TrainingSettings(3, 32, 1e-3, 1, 64, null, null, null, 2)).hasMessageContaining("needs a validationFraction");
        assertThatThrownBy(() -> new TrainingSettings(3, 32, 1e-3, 1, 64, null, 0, null, null)).hasMessageContaining("gradientAccumulation");
        assertThatThrownBy(() -> new TrainingSettings(3, 32, 1e-3, 1, 64, null, null, 0.9, null)).hasMessageContaining("validationFraction");
    }
}

package io.lamina.trainingworker.domain;

import io.lamina.contracts.AdapterSettings;
import io.lamina.contracts.BottleneckSettings;
import io.lamina.contracts.Json;
import io.lamina.engine.adapter.bottleneck.BottleneckSharing;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.contracts.TrainingSettings;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;

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

    @Test
    void aBottleneckPolicyBecomesTheEngineSpecAndSharing() {
        AdapterSettings plain = Json.read("{\"type\":\"bottleneck\",\"rank\":0,\"alpha\":0,\"dropout\":0}", AdapterSettings.class);
        assertThat(TrainingJobs.bottleneckSpec(plain)).isEqualTo(BottleneckSpec.defaults());
        assertThat(TrainingJobs.bottleneckSharing(plain)).isEqualTo(BottleneckSharing.SINGLE);
        assertThat(TrainingJobs.ia3Spec(plain)).isNull();
        AdapterSettings houlsby = new AdapterSettings("bottleneck", 0, 0, 0, null, null, new BottleneckSettings("houlsby", "parallel", 8, "share_up"), null);
        assertThat(TrainingJobs.bottleneckSpec(houlsby)).isEqualTo(new BottleneckSpec(BottleneckSpec.Architecture.HOULSBY, BottleneckSpec.Placement.PARALLEL, 8));
        assertThat(TrainingJobs.bottleneckSharing(houlsby)).isEqualTo(BottleneckSharing.SHARE_UP);
        assertThat(TrainingJobs.bottleneckSpec(new AdapterSettings("lora", 8, 16, 0.1, List.of("query"), null))).isNull();
        assertThatThrownBy(() -> TrainingJobs.bottleneckSpec(new AdapterSettings("lora", 8, 16, 0.1, null, null, new BottleneckSettings(null, null, 8, null), null)))
                .hasMessageContaining("bottleneck settings given for adapter type 'lora'");
        assertThatThrownBy(() -> TrainingJobs.bottleneckSpec(new AdapterSettings("bottleneck", 0, 0, 0, null, null, new BottleneckSettings("compacter", null, null, null), null)))
                .hasMessageContaining("bottleneck architecture 'compacter' is not one of [houlsby, pfeiffer]");
        assertThatThrownBy(() -> TrainingJobs.bottleneckSpec(new AdapterSettings("bottleneck", 0, 0, 0, null, null, new BottleneckSettings(null, null, 0, null), null)))
                .hasMessageContaining("reduction factor must be in [1, 4096]");
    }

    @Test
    void aBottleneckPolicyWithMosaExpertsBecomesMosaSettings() {
        AdapterSettings mosa = Json.read("{\"type\":\"bottleneck\",\"rank\":0,\"alpha\":0,\"dropout\":0,"
                + "\"bottleneck\":{\"mosaExperts\":4}}", AdapterSettings.class);
        assertThat(TrainingJobs.mosaSettings(mosa)).isEqualTo(io.lamina.engine.adapter.bottleneck.MosaSettings.defaults());
        assertThat(TrainingJobs.bottleneckSpec(mosa)).isEqualTo(BottleneckSpec.defaults());
        AdapterSettings noKl = Json.read("{\"type\":\"bottleneck\",\"rank\":0,\"alpha\":0,\"dropout\":0,"
                + "\"bottleneck\":{\"mosaExperts\":2,\"mosaConsistencyWeight\":0}}", AdapterSettings.class);
        assertThat(TrainingJobs.mosaSettings(noKl)).isEqualTo(new io.lamina.engine.adapter.bottleneck.MosaSettings(2, 0f));
        assertThat(TrainingJobs.mosaSettings(new AdapterSettings("bottleneck", 0, 0, 0, null, null, new BottleneckSettings("houlsby", null, 8, null), null))).isNull();
        assertThatThrownBy(() -> TrainingJobs.mosaSettings(new AdapterSettings("bottleneck", 0, 0, 0, null, null,
                new BottleneckSettings(null, null, null, null, 1, null), null))).hasMessageContaining("2 to 64 experts");
    }

    @Test
    void aLokrPolicyAndALoraInitBecomeTheEngineSpecs() {
        AdapterSettings lokr = Json.read("{\"type\":\"lokr\",\"rank\":4,\"alpha\":0,\"dropout\":0}", AdapterSettings.class);
        assertThat(TrainingJobs.lokrSpec(lokr)).isEqualTo(new io.lamina.engine.adapter.lokr.LokrSpec(List.of("query", "value"), 4, 4f, false, -1));
        assertThat(TrainingJobs.loraSpec(null)).isNotNull();
        assertThat(TrainingJobs.lokrSpec(new AdapterSettings("lora", 8, 16, 0.1, List.of("query"), null))).isNull();
        AdapterSettings pissa = Json.read("{\"type\":\"lora\",\"rank\":8,\"alpha\":16,\"dropout\":0,\"init\":\"pissa\"}", AdapterSettings.class);
        assertThat(pissa.init()).isEqualTo("pissa");
        assertThat(io.lamina.engine.adapter.lora.PrincipalInit.Method.of(pissa.init())).isEqualTo(io.lamina.engine.adapter.lora.PrincipalInit.Method.PISSA);
    }

    @Test
    void aPromptPolicyBecomesThePromptTuningSpec() {
        AdapterSettings plain = Json.read("{\"type\":\"prompt\",\"rank\":0,\"alpha\":0,\"dropout\":0}", AdapterSettings.class);
        assertThat(TrainingJobs.promptSpec(plain)).isEqualTo(io.lamina.engine.adapter.prompt.PromptTuningSpec.defaults());
        assertThat(TrainingJobs.ia3Spec(plain)).isNull();
        assertThat(TrainingJobs.lokrSpec(plain)).isNull();
        AdapterSettings twenty = Json.read("{\"type\":\"prompt\",\"rank\":20,\"alpha\":0,\"dropout\":0,\"init\":\"sample_vocab\"}", AdapterSettings.class);
        assertThat(TrainingJobs.promptSpec(twenty)).isEqualTo(new io.lamina.engine.adapter.prompt.PromptTuningSpec(20,
                io.lamina.engine.adapter.prompt.PromptTuningSpec.Init.SAMPLE_VOCAB, null));
        assertThat(TrainingJobs.promptSpec(new AdapterSettings("lora", 8, 16, 0.1, List.of("query"), null))).isNull();
        // the default policy's LoRA targets do not stop a prompt: a prompt wraps no module
        assertThat(TrainingJobs.promptSpec(new AdapterSettings("prompt", 8, 16, 0.1, List.of("query", "value"), null)))
                .isEqualTo(io.lamina.engine.adapter.prompt.PromptTuningSpec.defaults());
        assertThatThrownBy(() -> TrainingJobs.promptSpec(new AdapterSettings("prompt", 8, 0, 0, null, null, null, "pissa")))
                .hasMessageContaining("init 'pissa' is not one of [random, sample_vocab]");
    }

    @Test
    void sftTypeMapsToLtSftDefaultsOnTheGivenModules() {
        assertThat(TrainingJobs.sftSpec(Json.read("{\"type\":\"sft\",\"rank\":0,\"alpha\":0,\"dropout\":0}", AdapterSettings.class)))
                .isEqualTo(io.lamina.engine.adapter.sft.SftSpec.defaults());
        assertThat(TrainingJobs.sftSpec(new AdapterSettings("SFT", 0, 0, 0, List.of("value", "query"), null)).targetModules()).containsExactly("query", "value");
        assertThat(TrainingJobs.sftSpec(new AdapterSettings("lora", 8, 16, 0.1, List.of("query"), null))).isNull();
        assertThat(TrainingJobs.ia3Spec(new AdapterSettings("sft", 0, 0, 0, null, null))).isNull(); // a known type, not refused
    }
}

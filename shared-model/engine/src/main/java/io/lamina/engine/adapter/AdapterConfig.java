package io.lamina.engine.adapter;

/**
 * The settings of one adapter type, PEFT's {@code PeftConfig} in spirit: {@code LoraSpec} (LoRA, DoRA, MoRA),
 * {@code Ia3Spec}, {@code LokrSpec}, {@code SokaSpec}, {@code BottleneckSpec}, {@code PromptTuningSpec} and
 * {@code SftSpec}. An adapter holds exactly one, of the class its {@link AdapterKind} names
 * ({@link AdapterKind#configType()}).
 */
public interface AdapterConfig {
    /** {@code config} as a {@code type}, or {@code null} when it is another type's settings (or absent). */
    static <T extends AdapterConfig> T as(AdapterConfig config, Class<T> type) {
        return type.isInstance(config) ? type.cast(config) : null;
    }
}

package io.lamina.engine.adapter;

/** Adapter types the engine knows. New types are added here first, then get their own package. */
public enum AdapterKind {
    LORA("LORA");

    private final String peftType;

    AdapterKind(String peftType) { this.peftType = peftType; }

    /** The value of {@code peft_type} in PEFT's {@code adapter_config.json}. */
    public String peftType() { return peftType; }
}

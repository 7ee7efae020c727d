package io.lamina.engine.adapter.lora;

/**
 * How a LoRA layer turns its factors into an output (PEFT's {@code LoraVariant}): a strategy chosen
 * in the spec, so the layer code asks the variant instead of testing flags.
 *
 * <ul>
 *   <li>{@link #STANDARD}: {@code y = W x + b + s B A x}.</li>
 *   <li>{@link #DORA}: weight-decomposed LoRA (PEFT {@code use_dora=True}), see {@link Dora}.</li>
 * </ul>
 */
public enum LoraVariant {
    STANDARD(false),
    DORA(true);

    private final boolean magnitude;

    LoraVariant(boolean magnitude) { this.magnitude = magnitude; }

    /** Whether each target carries a trained magnitude vector ({@code lora_magnitude_vector}, one value per output feature). */
    public boolean hasMagnitude() { return magnitude; }

    /**
     * Whether the adapted weight is {@code W + ΔW} with {@code ΔW} low-rank and independent of {@code W}:
     * only then can updates be summed, stacked or merged by TIES/DARE/task arithmetic.
     */
    public boolean isLinearDelta() { return !magnitude; }
}

package io.lamina.engine.adapter.prompt;

import io.lamina.engine.adapter.AdapterConfig;

/**
 * What a user asks of a prompt-tuning adapter (Lester et al. 2021, "The Power of Scale for Parameter-Efficient
 * Prompt Tuning"; PEFT's {@code PromptTuningConfig}, {@code peft_type PROMPT_TUNING}): {@code numVirtualTokens}
 * learned vectors in the word-embedding space, prepended to every sequence's word embeddings. The base model is
 * untouched; the only weights are PEFT's {@code prompt_embeddings} {@code [numVirtualTokens, hidden]}
 * ({@link #PEFT_KEY}; PEFT's {@code num_transformer_submodules} is 1 for an encoder).
 *
 * <p>Initialisation ({@code prompt_tuning_init}), as PEFT's {@code PromptEmbedding}:
 * <ul>
 *   <li>{@link Init#RANDOM}: PyTorch's default for {@code nn.Embedding}, every value N(0, 1) (seeded here);</li>
 *   <li>{@link Init#TEXT}: the word embeddings of the tokenised {@code initText} (with the tokenizer's special tokens,
 *       {@code [CLS] ... [SEP]} for BERT, as PEFT's {@code tokenizer(init_text)["input_ids"]} gives them), truncated to
 *       {@code numVirtualTokens} or repeated until that many and then truncated;</li>
 *   <li>{@link Init#SAMPLE_VOCAB}: the word embeddings of token ids drawn uniformly from the vocabulary (seeded).</li>
 * </ul>
 * The init is not stored with the weights: after training only the tensor matters.
 *
 * <p>Default {@value #DEFAULT_VIRTUAL_TOKENS} virtual tokens: the work per sequence grows with {@code n + L}, and the
 * texts Lamina embeds (glosses, short sentences) are often only 10 to 30 tokens long, so 20 (the paper's smallest
 * "good" size for large models) would more than double the cost of every forward; PEFT has no default.
 *
 * @param numVirtualTokens PEFT's {@code num_virtual_tokens}, in [1, {@value #MAX_VIRTUAL_TOKENS}]; with the texts'
 *                         own tokens it must fit the base's position table (512 for MiniLM)
 * @param init             how the virtual tokens start
 * @param initText         PEFT's {@code prompt_tuning_init_text}: required (non-blank) with {@link Init#TEXT}, else {@code null}
 */
public record PromptTuningSpec(int numVirtualTokens, Init init, String initText) implements AdapterConfig {
    /** PEFT's key of the one tensor, exactly as {@code get_peft_model_state_dict} saves it (no {@code base_model.model.} prefix). */
    public static final String PEFT_KEY = "prompt_embeddings";
    public static final int DEFAULT_VIRTUAL_TOKENS = 8;
    public static final int MAX_VIRTUAL_TOKENS = 256;
    /** Longest init text accepted, in characters. */
    public static final int MAX_INIT_TEXT = 10_000;

    /** PEFT's {@code PromptTuningInit} values Lamina applies. */
    public enum Init { RANDOM, TEXT, SAMPLE_VOCAB }

    public PromptTuningSpec {
        if (numVirtualTokens < 1 || numVirtualTokens > MAX_VIRTUAL_TOKENS) {
            throw new IllegalArgumentException("num_virtual_tokens must be in [1, " + MAX_VIRTUAL_TOKENS + "], got " + numVirtualTokens);
        }
        if (init == null) throw new IllegalArgumentException("prompt tuning needs an init (RANDOM, TEXT or SAMPLE_VOCAB)");
        if (init == Init.TEXT) {
            if (initText == null || initText.isBlank()) throw new IllegalArgumentException("prompt_tuning_init TEXT needs a non-blank prompt_tuning_init_text");
            if (initText.length() > MAX_INIT_TEXT) throw new IllegalArgumentException("prompt_tuning_init_text is longer than " + MAX_INIT_TEXT + " characters");
        } else if (initText != null) {
            throw new IllegalArgumentException("prompt_tuning_init_text is only used with prompt_tuning_init TEXT, this spec's init is " + init);
        }
    }

    /** {@value #DEFAULT_VIRTUAL_TOKENS} randomly initialised virtual tokens. */
    public static PromptTuningSpec defaults() {
        return random(DEFAULT_VIRTUAL_TOKENS);
    }

    public static PromptTuningSpec random(int numVirtualTokens) {
        return new PromptTuningSpec(numVirtualTokens, Init.RANDOM, null);
    }

    public static PromptTuningSpec text(int numVirtualTokens, String initText) {
        return new PromptTuningSpec(numVirtualTokens, Init.TEXT, initText);
    }

    /** The stored shape of {@link #PEFT_KEY} for a base of width {@code hidden}. */
    public long[] shape(int hidden) {
        return new long[]{numVirtualTokens, hidden};
    }

    /** Trainable values: {@code numVirtualTokens * hidden}. */
    public long parameters(int hidden) {
        return (long) numVirtualTokens * hidden;
    }
}

package io.lamina.engine.adapter.prompt;

import io.lamina.engine.tensor.HostTensor;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/** Fresh virtual tokens as PEFT's {@code PromptEmbedding} initialises them (see {@link PromptTuningSpec}). */
public final class PromptTuningInit {
    private PromptTuningInit() {
    }

    /** What the init reads of the base model: its vocabulary, tokenizer and word-embedding rows. */
    public interface Vocabulary {
        /** Number of rows of the word-embedding table. */
        int size();

        /** Token ids of a text with the tokenizer's special tokens, untruncated (up to the model's limit). */
        long[] tokenize(String text);

        /** The word-embedding rows of {@code ids}, flat {@code [ids.length * hidden]}. */
        float[] wordEmbeddings(long[] ids);
    }

    /**
     * @param seed same seed and spec ⇒ identical weights (RANDOM and SAMPLE_VOCAB; TEXT does not depend on it)
     * @return {@link PromptTuningSpec#PEFT_KEY} to {@code [numVirtualTokens, hidden]}
     */
    public static Map<String, HostTensor> initialWeights(PromptTuningSpec spec, int hidden, Vocabulary vocabulary, long seed) {
        if (hidden < 1) throw new IllegalArgumentException("hidden must be positive");
        int n = spec.numVirtualTokens();
        float[] data;
        switch (spec.init()) {
            case RANDOM: {
                SplittableRandom random = new SplittableRandom(seed);
                data = new float[n * hidden];
                for (int i = 0; i < data.length; i++) data[i] = (float) gaussian(random);
                break;
            }
            case SAMPLE_VOCAB: {
                SplittableRandom random = new SplittableRandom(seed);
                long[] ids = new long[n];
                for (int i = 0; i < n; i++) ids[i] = random.nextInt(vocabulary.size());
                data = vocabulary.wordEmbeddings(ids);
                break;
            }
            case TEXT: {
                data = vocabulary.wordEmbeddings(textIds(vocabulary.tokenize(spec.initText()), n));
                break;
            }
            default:
                throw new IllegalStateException("unknown init " + spec.init());
        }
        if (data.length != n * hidden) throw new IllegalStateException("word embeddings are not " + hidden + " wide");
        Map<String, HostTensor> out = new TreeMap<>();
        out.put(PromptTuningSpec.PEFT_KEY, new HostTensor(spec.shape(hidden), data));
        return out;
    }

    /** PEFT's TEXT rule: the text's ids truncated to {@code n}, or repeated {@code ceil(n / len)} times and then truncated. */
    public static long[] textIds(long[] textIds, int n) {
        if (textIds.length == 0) throw new IllegalArgumentException("the init text has no tokens");
        long[] out = new long[n];
        for (int i = 0; i < n; i++) out[i] = textIds[i % textIds.length];
        return out;
    }

    /** A standard normal draw (Box-Muller), so the init does not depend on {@code java.util.Random}'s cached second value. */
    private static double gaussian(SplittableRandom random) {
        double u1 = 1.0 - random.nextDouble();   // (0, 1]
        double u2 = random.nextDouble();
        return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
}

package io.lamina.engine.adapter.prompt;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.TinyTasks;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterKind;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.data.WordNetSupersenses;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.io.AdapterFixtures;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.merge.AdapterMerger;
import io.lamina.engine.merge.MergeRecipe;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.serving.MixedAdapterEncoder;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.TrainingSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;

import static io.lamina.engine.TestArrays.maxAbsDiff;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Prompt tuning (PEFT {@code PROMPT_TUNING}) on the real MiniLM weights: the forward, init, training. */
class PromptTuningTest {
    static final BaseModel BASE = BaseModel.miniLm();
    static final int H = 384;
    static final List<String> TEXTS = List.of("a small boat on the lake", "the striker kicked the ball into the net",
            "bake the muffins in a hot oven until golden", "Rain");
    static final List<String> THINGS = List.of("animal", "vehicle", "food");

    static final PromptTuningInit.Vocabulary VOCABULARY = new PromptTuningInit.Vocabulary() {
        @Override public int size() { return BASE.vocabularySize(); }
        @Override public long[] tokenize(String text) { return BASE.tokenize(List.of(text), 512).get(0); }
        @Override public float[] wordEmbeddings(long[] ids) { return BASE.wordEmbeddingRows(ids); }
    };

    static Adapter adapter(PromptTuningSpec spec, Map<String, HostTensor> w) {
        float[][] protos = new float[THINGS.size()][H];
        for (int c = 0; c < protos.length; c++) protos[c][c] = 1f;
        return Adapter.of(spec, w, new PrototypeHead(THINGS, protos, 16f), BASE.id(), BASE.fingerprint(),
                new AdapterProvenance(AdapterProvenance.TRAINED, Map.of("seed", "1")));
    }

    /** Mean cross-entropy of the trainer's cosine head ({@link LoraTrainer#HEAD_SCALE}) over L2-normalised rows. */
    private static double headLoss(float[][] emb, float[][] prototypes, int[] y) {
        double sum = 0;
        for (int i = 0; i < emb.length; i++) {
            double[] logits = new double[prototypes.length];
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < prototypes.length; c++) {
                double dot = 0, norm = 0;
                for (int j = 0; j < prototypes[c].length; j++) {
                    dot += emb[i][j] * prototypes[c][j];
                    norm += prototypes[c][j] * prototypes[c][j];
                }
                logits[c] = LoraTrainer.HEAD_SCALE * dot / Math.sqrt(norm);
                max = Math.max(max, logits[c]);
            }
            double z = 0;
            for (double l : logits) z += Math.exp(l - max);
            sum += -(logits[y[i]] - max - Math.log(z));
        }
        return sum / emb.length;
    }

    private static float[][] classMeans(float[][] emb, int[] y, int classes) {
        float[][] out = new float[classes][emb[0].length];
        for (int i = 0; i < emb.length; i++) for (int j = 0; j < emb[i].length; j++) out[y[i]][j] += emb[i][j];
        return out;
    }

    private static long[] concat(long[] a, long[] b) {
        long[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void virtualTokensActAsTokensPrependedToTheTextAtPositionsZeroToP() {
        // With TEXT init the virtual tokens ARE word embeddings of real tokens, so the prompted model must equal the base
        // model run on those tokens followed by the text: same positions (virtual 0..P-1, text shifted by P), token type 0,
        // attention over everything, mean pooling over the extended mask. Mixed lengths check the padding too.
        PromptTuningSpec spec = PromptTuningSpec.text(8, "what kind of thing");
        Map<String, HostTensor> w = PromptTuningInit.initialWeights(spec, H, VOCABULARY, 0L);
        long[] initIds = BASE.tokenize(List.of("what kind of thing"), 512).get(0);
        assertThat(initIds.length).isEqualTo(6);                               // [CLS] what kind of thing [SEP]
        long[] virtual = PromptTuningInit.textIds(initIds, 8);                  // repeated, then cut: PEFT's rule
        assertThat(virtual).containsExactly(initIds[0], initIds[1], initIds[2], initIds[3], initIds[4], initIds[5], initIds[0], initIds[1]);
        assertThat(w.get(PromptTuningSpec.PEFT_KEY).data()).containsExactly(BASE.wordEmbeddingRows(virtual));
        assertThat(PromptTuningInit.textIds(new long[]{1, 2, 3, 4, 5}, 3)).containsExactly(1, 2, 3);

        Adapter a = adapter(spec, w);
        List<long[]> ids = BASE.tokenize(TEXTS, BaseModel.DEFAULT_MAX_TOKENS);
        List<long[]> explicit = ids.stream().map(s -> concat(virtual, s)).toList();
        float[][] prompted = BASE.embedTokens(ids, a);
        assertThat(maxAbsDiff(prompted, BASE.embedTokens(explicit, null))).isLessThan(1e-5f);
        // ...and prompt tuning is not the base model at init, unlike LoRA with B = 0
        assertThat(maxAbsDiff(prompted, BASE.embedTokens(ids, null))).isGreaterThan(1e-2f);
        // one sequence at a time (no padding) gives the batch's rows
        for (int i = 0; i < ids.size(); i++) {
            assertThat(maxAbsDiff(BASE.embedTokens(List.of(ids.get(i)), a), new float[][]{prompted[i]})).isLessThan(1e-5f);
        }
    }

    @Test
    void specInitsAndLimits() {
        assertThat(PromptTuningSpec.defaults()).isEqualTo(new PromptTuningSpec(8, PromptTuningSpec.Init.RANDOM, null));
        assertThatThrownBy(() -> PromptTuningSpec.random(0)).hasMessage("num_virtual_tokens must be in [1, 256], got 0");
        assertThatThrownBy(() -> new PromptTuningSpec(4, PromptTuningSpec.Init.TEXT, " "))
                .hasMessage("prompt_tuning_init TEXT needs a non-blank prompt_tuning_init_text");
        assertThatThrownBy(() -> new PromptTuningSpec(4, PromptTuningSpec.Init.RANDOM, "hello"))
                .hasMessageContaining("only used with prompt_tuning_init TEXT");
        // RANDOM: nn.Embedding's N(0, 1), seeded
        float[] r = PromptTuningInit.initialWeights(PromptTuningSpec.random(16), H, VOCABULARY, 3L).get(PromptTuningSpec.PEFT_KEY).data();
        assertThat(r).containsExactly(PromptTuningInit.initialWeights(PromptTuningSpec.random(16), H, VOCABULARY, 3L).get(PromptTuningSpec.PEFT_KEY).data());
        double mean = 0, sq = 0;
        for (float v : r) { mean += v; sq += v * v; }
        mean /= r.length;
        assertThat(mean).isBetween(-0.05, 0.05);
        assertThat(sq / r.length - mean * mean).isBetween(0.9, 1.1);
        // SAMPLE_VOCAB: rows of the word-embedding table
        float[] v = PromptTuningInit.initialWeights(new PromptTuningSpec(2, PromptTuningSpec.Init.SAMPLE_VOCAB, null), H, VOCABULARY, 5L)
                .get(PromptTuningSpec.PEFT_KEY).data();
        assertThat(v).hasSize(2 * H);
        // 512 positions: a 300-token text after 256 virtual tokens does not fit
        Adapter big = adapter(PromptTuningSpec.random(256), PromptTuningInit.initialWeights(PromptTuningSpec.random(256), H, VOCABULARY, 1L));
        long[] longText = new long[300];
        Arrays.fill(longText, 1000);
        assertThatThrownBy(() -> BASE.embedTokens(List.of(longText), big))
                .hasMessage("sequence of 300 tokens after 256 virtual tokens exceeds 512 positions");
        TrainingSpec tooLong = new TrainingSpec(1, 4, 1e-2f, 0f, 0f, 1f, 1L, 512, 0);
        assertThatThrownBy(() -> new LoraTrainer(BASE).train(TrainingRequest.of(TinyTasks.things(), THINGS, PromptTuningSpec.defaults(),
                tooLong, null, null, null, Map.of()))).hasMessage("maxLength 512 plus 8 virtual tokens exceeds the base's 512 positions");
        // a wrongly shaped prompt is refused before any forward
        Adapter wrong = adapter(PromptTuningSpec.random(4), Map.of(PromptTuningSpec.PEFT_KEY, new HostTensor(new long[]{5, H}, new float[5 * H])));
        assertThatThrownBy(() -> BASE.embed(TEXTS, wrong)).hasMessage("prompt_embeddings has shape [5, 384], expected [4, 384]");
    }

    @Test
    void oneStepMovesThePromptAndAShortWordNetRunBeatsChance() {
        PromptTuningSpec spec = PromptTuningSpec.defaults();
        List<LabeledText> data = TinyTasks.things();
        TrainingSpec one = new TrainingSpec(1, 15, 1e-2f, 0.01f, 0f, 1.0f, 7L, 32, 0);
        Adapter stepped = new LoraTrainer(BASE).train(TrainingRequest.of(data, THINGS, spec, one, null, null, null, Map.of()));
        float[] init = PromptTuningInit.initialWeights(spec, H, VOCABULARY, 7L).get(PromptTuningSpec.PEFT_KEY).data();
        float[] after = stepped.weights().get(PromptTuningSpec.PEFT_KEY).data();
        float moved = 0;
        for (int i = 0; i < init.length; i++) moved = Math.max(moved, Math.abs(after[i] - init[i]));
        assertThat(moved).as("largest change of a virtual-token value after one step").isGreaterThan(1e-3f);
        assertThat(stepped.weights()).containsOnlyKeys(PromptTuningSpec.PEFT_KEY);

        // WordNet glosses of three supersenses: 12 per class to train, 8 held out
        List<String> classes = List.of("noun.animal", "noun.food", "noun.plant");
        SortedMap<String, List<String>> all = WordNetSupersenses.glossesBySupersense();
        List<LabeledText> train = new ArrayList<>(), test = new ArrayList<>();
        for (String c : classes) {
            for (String g : all.get(c).subList(0, 12)) train.add(new LabeledText(g, c));
            for (String g : all.get(c).subList(12, 20)) test.add(new LabeledText(g, c));
        }
        TrainingSpec ts = new TrainingSpec(2, 12, 1e-2f, 0.01f, 0.1f, 1.0f, 1234L, 32, 0);
        List<Float> losses = new ArrayList<>();
        PromptTuningSpec textSpec = PromptTuningSpec.text(8, "the kind of thing this describes");
        Adapter a = new LoraTrainer(BASE).train(TrainingRequest.of(train, classes, textSpec, ts, null, p -> losses.add(p.loss()), null, Map.of()));
        assertThat(a.kind()).isEqualTo(AdapterKind.PROMPT_TUNING);
        assertThat(a.prompt()).isEqualTo(textSpec);
        assertThat(a.spec()).isNull();
        assertThat(a.trainableParameters()).isEqualTo(8L * H + 3L * H);
        assertThat(losses).hasSize(6);
        // the head's loss over the whole training set: at the start (TEXT init, prototypes = class means) and after the run
        List<String> trainTexts = train.stream().map(LabeledText::text).toList();
        int[] y = train.stream().mapToInt(t -> classes.indexOf(t.label())).toArray();
        float[][] start = BASE.embed(trainTexts, adapter(textSpec, PromptTuningInit.initialWeights(textSpec, H, VOCABULARY, 0L)));
        double initialLoss = headLoss(start, classMeans(start, y, classes.size()), y);
        double afterRun = headLoss(BASE.embed(trainTexts, a), a.head().prototypes(), y);
        System.out.printf("prompt tuning on WordNet: train loss %.4f -> %.4f, step losses %s%n", initialLoss, afterRun, losses);
        assertThat(afterRun).isLessThan(initialLoss);
        List<String> predicted = a.head().classify(BASE.embed(test.stream().map(LabeledText::text).toList(), a));
        int right = 0;
        for (int i = 0; i < test.size(); i++) if (predicted.get(i).equals(test.get(i).label())) right++;
        System.out.printf("prompt tuning, 8 virtual tokens: held-out accuracy %d/%d, losses %s%n", right, test.size(), losses);
        assertThat(right / (double) test.size()).as("held-out accuracy").isGreaterThan(0.5);  // chance: 1/3

        // a warm start of the same spec continues from its virtual tokens
        Adapter again = new LoraTrainer(BASE).train(TrainingRequest.of(train, classes, textSpec, new TrainingSpec(1, 36, 1e-4f, 0.01f, 0f, 1.0f, 1234L, 32, 0),
                a, null, null, Map.of()));
        float[] before = a.weights().get(PromptTuningSpec.PEFT_KEY).data(), continued = again.weights().get(PromptTuningSpec.PEFT_KEY).data();
        for (int i = 0; i < before.length; i++) assertThat(Math.abs(continued[i] - before[i])).isLessThan(1e-3f);
    }

    @Test
    void mergesRefusePromptTuningAndMixedBatchesServeItAlone() {
        PromptTuningSpec spec = PromptTuningSpec.random(4);
        Adapter prompt = adapter(spec, PromptTuningInit.initialWeights(spec, H, VOCABULARY, 2L));
        Adapter lora = AdapterFixtures.randomAdapter(1, LoraSpec.defaults(), 6, H, THINGS, BASE.fingerprint());
        assertThatThrownBy(() -> AdapterMerger.merge(List.of(lora, prompt), MergeRecipe.of("task_arithmetic", List.of(0.5, 0.5)), Map.of()))
                .hasMessageContaining("PROMPT_TUNING");
        assertThatThrownBy(() -> prompt.requireLinearLora("merging"))
                .hasMessage("merging needs plain LoRA adapters: a prompt-tuning adapter prepends learned virtual tokens to the input and changes no weight, "
                        + "so it has no delta to merge into W or add to other adapters'");
        float[][] rows = new MixedAdapterEncoder(BASE).embed(TEXTS, Arrays.asList(prompt, null, prompt, null));
        assertThat(maxAbsDiff(new float[][]{rows[0], rows[2]}, BASE.embed(List.of(TEXTS.get(0), TEXTS.get(2)), prompt))).isLessThan(1e-5f);
        assertThat(maxAbsDiff(new float[][]{rows[1]}, BASE.embed(List.of(TEXTS.get(1)), null))).isLessThan(1e-6f);
    }
}

package io.lamina.engine.adapter.sft;

import io.lamina.engine.adapter.AdapterConfig;
import io.lamina.engine.adapter.BertModules;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;

/**
 * What a user asks of a composable sparse fine-tuning (LT-SFT, Ansell et al. 2022; {@code cambridgeltl/composable-sft}):
 * which linears' weights may change ("maskable"), how many of their entries may change (the budget {@code K}), how
 * long the full and the sparse phase run, and the L1 pull of the diff toward the pretrained weights.
 *
 * @param targetModules          maskable linears of every encoder layer ({@link BertModules#MODULES} names), in layer order
 * @param ftParamsNum            the budget as a count of entries ({@code > 0}), or {@code 0} to use {@code ftParamsProportion}
 * @param ftParamsProportion     the budget as a share of the maskable entries, in {@code (0, 1]}, or {@code 0} with a count
 * @param fullFtEpochs           epochs of the full fine-tuning phase; {@code 0}: the training spec's epochs
 * @param sparseFtEpochs         epochs of the sparse phase; {@code 0}: the training spec's epochs
 * @param l1Reg                  {@code λ} of {@code λ · Σ|Δ| / N} added to the loss once per optimiser step (both phases), {@code >= 0}
 * @param diffLearningRateFactor the diffs train at the training spec's learning rate times this (the head at the rate itself)
 */
public record SftSpec(List<String> targetModules, long ftParamsNum, double ftParamsProportion, int fullFtEpochs, int sparseFtEpochs,
                      float l1Reg, float diffLearningRateFactor) implements AdapterConfig {
    /** composable-sft's default {@code ft_params_proportion}: on MiniLM's six linears, ~106k entries (LoRA r=8 on Q, K, V has ~111k). */
    public static final double DEFAULT_PROPORTION = 0.01;
    /** Full fine-tuning wants a smaller rate than adapters: with the default 1e-3 the diffs train at 1e-4. */
    public static final float DEFAULT_DIFF_LR_FACTOR = 0.1f;
    /** Entries whose diff is at most this in magnitude are not stored (composable-sft's {@code sft()} threshold). */
    public static final float STORE_THRESHOLD = 1e-7f;

    /** The part of one linear's sparse diff a PEFT-style key names. */
    public enum Part {
        /** {@code [2]} int32: the dense shape {@code [out, in]}. */
        SHAPE("sft_shape"),
        /** {@code [nnz]} int32: flat row-major positions in {@code [out, in]}, strictly increasing. */
        INDICES("sft_indices"),
        /** {@code [nnz]} float32: the diff at those positions. */
        VALUES("sft_values");

        private final String suffix;

        Part(String suffix) { this.suffix = suffix; }

        public String suffix() { return suffix; }
    }

    public SftSpec {
        if (targetModules == null || targetModules.isEmpty()) throw new IllegalArgumentException("an SFT needs at least one maskable module, known: " + BertModules.MODULES);
        if (new HashSet<>(targetModules).size() != targetModules.size()) throw new IllegalArgumentException("maskable modules repeat: " + targetModules);
        for (String m : targetModules) {
            if (!BertModules.MODULES.contains(m)) throw new IllegalArgumentException("unknown maskable module '" + m + "', known: " + BertModules.MODULES);
        }
        targetModules = List.copyOf(BertModules.MODULES.stream().filter(targetModules::contains).toList());
        boolean byCount = ftParamsNum > 0, byShare = ftParamsProportion > 0;
        if (ftParamsNum < 0) throw new IllegalArgumentException("ftParamsNum must be >= 0 (0: use the proportion), got " + ftParamsNum);
        if (!(ftParamsProportion >= 0 && ftParamsProportion <= 1)) throw new IllegalArgumentException("ftParamsProportion must be in [0, 1], got " + ftParamsProportion);
        if (byCount == byShare) {
            throw new IllegalArgumentException("an SFT budget is either a count (ftParamsNum > 0) or a proportion (ftParamsProportion in (0, 1]), got "
                    + ftParamsNum + " and " + ftParamsProportion);
        }
        if (fullFtEpochs < 0 || fullFtEpochs > 1000) throw new IllegalArgumentException("fullFtEpochs must be in [0, 1000] (0: the training spec's), got " + fullFtEpochs);
        if (sparseFtEpochs < 0 || sparseFtEpochs > 1000) throw new IllegalArgumentException("sparseFtEpochs must be in [0, 1000] (0: the training spec's), got " + sparseFtEpochs);
        if (!(l1Reg >= 0) || Float.isInfinite(l1Reg)) throw new IllegalArgumentException("l1Reg must be a finite number >= 0, got " + l1Reg);
        if (!(diffLearningRateFactor > 0) || Float.isInfinite(diffLearningRateFactor)) {
            throw new IllegalArgumentException("diffLearningRateFactor must be a positive number, got " + diffLearningRateFactor);
        }
    }

    /** All six linears maskable, 1% of their entries, both phases as long as the training spec's epochs, no L1, diffs at 0.1 × lr. */
    public static SftSpec defaults() {
        return new SftSpec(BertModules.MODULES, 0, DEFAULT_PROPORTION, 0, 0, 0f, DEFAULT_DIFF_LR_FACTOR);
    }

    public SftSpec withModules(List<String> modules) {
        return new SftSpec(modules, ftParamsNum, ftParamsProportion, fullFtEpochs, sparseFtEpochs, l1Reg, diffLearningRateFactor);
    }

    /** The budget as a count of entries. */
    public SftSpec withParamsNum(long k) {
        return new SftSpec(targetModules, k, 0, fullFtEpochs, sparseFtEpochs, l1Reg, diffLearningRateFactor);
    }

    /** The budget as a share of the maskable entries. */
    public SftSpec withParamsProportion(double p) {
        return new SftSpec(targetModules, 0, p, fullFtEpochs, sparseFtEpochs, l1Reg, diffLearningRateFactor);
    }

    public SftSpec withPhases(int fullEpochs, int sparseEpochs) {
        return new SftSpec(targetModules, ftParamsNum, ftParamsProportion, fullEpochs, sparseEpochs, l1Reg, diffLearningRateFactor);
    }

    public SftSpec withL1(float lambda) {
        return new SftSpec(targetModules, ftParamsNum, ftParamsProportion, fullFtEpochs, sparseFtEpochs, lambda, diffLearningRateFactor);
    }

    public SftSpec withDiffLearningRateFactor(float factor) {
        return new SftSpec(targetModules, ftParamsNum, ftParamsProportion, fullFtEpochs, sparseFtEpochs, l1Reg, factor);
    }

    /** Entries of the maskable linears of a base with {@code layers} layers, width {@code hidden} and FFN width {@code intermediate}. */
    public long maskableEntries(int layers, int hidden, int intermediate) {
        long n = 0;
        for (String m : targetModules) {
            n += (long) BertModules.outFeatures(m, hidden, intermediate) * BertModules.inFeatures(m, hidden, intermediate);
        }
        return n * layers;
    }

    /** {@code K}: the count, capped at the maskable entries, or {@code round(proportion × maskable)}, at least 1. */
    public long budget(long maskable) {
        if (ftParamsNum > 0) return Math.min(ftParamsNum, maskable);
        return Math.max(1, Math.min(maskable, Math.round(ftParamsProportion * maskable)));
    }

    /** Epochs of the full phase, {@code defaultEpochs} when the spec leaves it to the training spec. */
    public int fullEpochs(int defaultEpochs) { return fullFtEpochs > 0 ? fullFtEpochs : defaultEpochs; }

    /** Epochs of the sparse phase, {@code defaultEpochs} when the spec leaves it to the training spec. */
    public int sparseEpochs(int defaultEpochs) { return sparseFtEpochs > 0 ? sparseFtEpochs : defaultEpochs; }

    /** {@code base_model.model.encoder.layer.{l}.{path}.sft_indices} (or {@code sft_values}, {@code sft_shape}). */
    public static String peftKey(int layer, String module, Part part) {
        return "base_model.model.encoder.layer." + layer + "." + BertModules.path(module) + "." + part.suffix();
    }

    /** Every PEFT key an SFT with these modules on {@code layers} layers has (all three parts of every linear, empty diffs included). */
    public List<String> peftKeys(int layers) {
        List<String> out = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (String m : targetModules) for (Part p : Part.values()) out.add(peftKey(l, m, p));
        }
        return out;
    }

    /** Whether a PEFT key of an SFT file is stored as int32 (shapes and indices). */
    public static boolean isIntegerKey(String key) {
        return key.endsWith("." + Part.INDICES.suffix()) || key.endsWith("." + Part.SHAPE.suffix());
    }
}

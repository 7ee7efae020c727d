package io.lamina.engine.merge.learned;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;

/**
 * How {@link LearnedMerge} combines an inventory of LoRA adapters on a few labelled examples.
 *
 * @param method              one of {@link #METHODS}: {@value #ATLAS}, {@value #SCALEARN},
 *                            {@value #SCALEARN_UNIFORM}, {@value #SCALEARN_SHARED},
 *                            {@value #SCALEARN_UNIFORM_SHARED}, {@value #MHR_MU}
 * @param steps               optimiser steps, in {@code [0, }{@value #MAX_STEPS}{@code ]}; {@code 0} returns the
 *                            merge at its initial coefficients (with a class-mean head)
 * @param learningRate        peak AdamW learning rate (cosine decay, no warm-up; see {@link LearnedMerge})
 * @param seed                drives the default ScaLearn initialisation, ω-dropout, batch order and the
 *                            MHR-μ fine-tuning run
 * @param initialCoefficients {@code null} for the paper's initialisation (aTLAS: 0; ScaLearn: N(2/n, 0.001);
 *                            MHR-μ: 1/n), else one finite value per source adapter: every coefficient that
 *                            belongs to source {@code i} starts at value {@code i} (so {@link #oneHot} selects a
 *                            single source exactly); for MHR-μ the values are the averaging weights
 * @param maxLength           tokens per example including {@code [CLS]}/{@code [SEP]}, in {@code [3, 512]}
 */
public record LearnedMergeSpec(String method, int steps, float learningRate, long seed, List<Double> initialCoefficients,
                               int maxLength) {
    public static final String ATLAS = "atlas";
    public static final String SCALEARN = "scalearn";
    public static final String SCALEARN_UNIFORM = "scalearn_uniform";
    public static final String SCALEARN_SHARED = "scalearn_shared";
    public static final String SCALEARN_UNIFORM_SHARED = "scalearn_uniform_shared";
    public static final String MHR_MU = "mhr_mu";
    /** The supported methods, in documentation order. */
    public static final List<String> METHODS = List.of(ATLAS, SCALEARN, SCALEARN_UNIFORM, SCALEARN_SHARED, SCALEARN_UNIFORM_SHARED, MHR_MU);
    public static final int MAX_STEPS = 1000;
    private static final Set<String> KNOWN = Set.copyOf(METHODS);

    public LearnedMergeSpec {
        if (method == null || !KNOWN.contains(method)) {
            throw new IllegalArgumentException("unknown learned-merge method '" + method + "', supported: " + METHODS);
        }
        if (steps < 0 || steps > MAX_STEPS) throw new IllegalArgumentException("steps must be in [0, " + MAX_STEPS + "], got " + steps);
        if (!(learningRate > 0) || Float.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learningRate must be a positive finite number, got " + learningRate);
        }
        if (maxLength < 3 || maxLength > 512) throw new IllegalArgumentException("maxLength must be in [3, 512], got " + maxLength);
        if (initialCoefficients != null) {
            if (initialCoefficients.isEmpty()) {
                throw new IllegalArgumentException("initialCoefficients must hold one value per source adapter (or be null for the method's default), got an empty list");
            }
            List<Double> copy = new ArrayList<>(initialCoefficients.size());
            for (int i = 0; i < initialCoefficients.size(); i++) {
                Double c = initialCoefficients.get(i);
                if (c == null || !Double.isFinite(c)) throw new IllegalArgumentException("initialCoefficients[" + i + "] must be finite, got " + c);
                copy.add(c);
            }
            initialCoefficients = Collections.unmodifiableList(copy);
        }
    }

    /**
     * Few-shot defaults from the papers' settings, scaled to CPU: aTLAS lr 0.1 (its few-shot
     * script), ScaLearn lr 6e-3, MHR-μ lr 3e-3 (its fine-tuning config); 50 steps, seed 42, 64
     * tokens, paper initialisation.
     */
    public static LearnedMergeSpec defaults(String method) {
        float lr = ATLAS.equals(method) ? 0.1f : MHR_MU.equals(method) ? 3e-3f : 6e-3f;
        return new LearnedMergeSpec(method, 50, lr, 42L, null, 64);
    }

    public LearnedMergeSpec withSteps(int s) {
        return new LearnedMergeSpec(method, s, learningRate, seed, initialCoefficients, maxLength);
    }

    public LearnedMergeSpec withLearningRate(float lr) {
        return new LearnedMergeSpec(method, steps, lr, seed, initialCoefficients, maxLength);
    }

    public LearnedMergeSpec withInitialCoefficients(List<Double> c) {
        return new LearnedMergeSpec(method, steps, learningRate, seed, c, maxLength);
    }

    /** {@code [0, .., 1 (at k), .., 0]}: start the merge from source {@code k} alone. */
    public static List<Double> oneHot(int sources, int k) {
        if (sources < 1) throw new IllegalArgumentException("oneHot needs at least one source, got " + sources);
        if (k < 0 || k >= sources) throw new IllegalArgumentException("oneHot index " + k + " is outside [0, " + sources + ")");
        List<Double> out = new ArrayList<>(sources);
        for (int i = 0; i < sources; i++) out.add(i == k ? 1.0 : 0.0);
        return Collections.unmodifiableList(out);
    }

    /** Whether the method learns coefficients (aTLAS, ScaLearn variants) rather than fine-tuning an average (MHR-μ). */
    public boolean learnsCoefficients() {
        return !MHR_MU.equals(method);
    }
}

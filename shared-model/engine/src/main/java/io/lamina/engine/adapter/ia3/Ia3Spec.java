package io.lamina.engine.adapter.ia3;

import io.lamina.engine.adapter.AdapterConfig;
import io.lamina.engine.adapter.BertModules;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a user asks of an (IA)^3 adapter (Liu et al. 2022; PEFT's {@code IA3Config}): a learned vector
 * {@code l} per wrapped linear layer of every encoder layer, initialised to ones, so the adapted model
 * equals the base model at step 0. PEFT's semantics, followed exactly ({@code tuners/ia3/layer.py}):
 * <ul>
 *   <li>a module in {@code feedforwardModules} has its <b>input</b> scaled, {@code y = W (x ⊙ l) + b},
 *       {@code l} stored as {@code [1, in_features]};</li>
 *   <li>any other target has its <b>output</b> scaled, bias included, {@code y = (W x + b) ⊙ l},
 *       {@code l} stored as {@code [out_features, 1]}.</li>
 * </ul>
 * {@code feedforwardModules} must be a subset of {@code targetModules} (PEFT raises otherwise).
 *
 * <p>Module names are paths inside one encoder layer, short for the attention projections as in
 * {@code LoraSpec}: {@code query}, {@code key}, {@code value}, {@code attention.output.dense},
 * {@code intermediate.dense}, {@code output.dense}.
 *
 * <p>{@link #defaults()} is what PEFT does for a BERT model when no modules are given: its mapping says
 * {@code target_modules = ["key", "value", "output.dense"]}, {@code feedforward_modules = ["output.dense"]},
 * and PEFT matches list entries by <i>suffix</i>, so {@code output.dense} wraps both the FFN output and
 * the attention output projection ({@code attention.output.dense}), and both are feed-forward
 * (input-scaled). The FFN's input scaling is the paper's {@code l_ff} on the intermediate activation.
 */
public record Ia3Spec(List<String> targetModules, List<String> feedforwardModules) implements AdapterConfig {
    /** Every linear of a BERT layer an (IA)^3 vector can wrap, in layer order. */
    public static final List<String> MODULES = BertModules.MODULES;

    public Ia3Spec {
        if (targetModules == null || targetModules.isEmpty()) throw new IllegalArgumentException("(IA)^3 needs at least one target module");
        if (feedforwardModules == null) feedforwardModules = List.of();
        Set<String> seen = new LinkedHashSet<>();
        for (String t : targetModules) {
            if (!MODULES.contains(t)) throw new IllegalArgumentException("unsupported (IA)^3 target module '" + t + "', supported: " + MODULES);
            if (!seen.add(t)) throw new IllegalArgumentException("(IA)^3 target module '" + t + "' listed twice");
        }
        Set<String> ff = new LinkedHashSet<>();
        for (String f : feedforwardModules) {
            if (!targetModules.contains(f)) {
                throw new IllegalArgumentException("(IA)^3 feedforward module '" + f + "' is not among the target modules " + targetModules
                        + " (PEFT: feedforward_modules should be a subset of target_modules)");
            }
            if (!ff.add(f)) throw new IllegalArgumentException("(IA)^3 feedforward module '" + f + "' listed twice");
        }
        // canonical (layer) order, so equal adapters have equal specs and keys come out in one order
        targetModules = MODULES.stream().filter(seen::contains).toList();
        feedforwardModules = MODULES.stream().filter(ff::contains).toList();
    }

    /** PEFT's defaults for BERT, resolved the way PEFT resolves them (see the class comment). */
    public static Ia3Spec defaults() {
        return new Ia3Spec(List.of("key", "value", "attention.output.dense", "output.dense"), List.of("attention.output.dense", "output.dense"));
    }

    public boolean isFeedforward(String module) { return feedforwardModules.contains(module); }

    /** The module's path inside an encoder layer, e.g. {@code attention.self.key}. */
    public static String path(String module) {
        return BertModules.path(module);
    }

    /** PEFT's key of one vector, e.g. {@code base_model.model.encoder.layer.0.attention.self.key.ia3_l}. */
    public static String peftKey(int layer, String module) {
        return "base_model.model.encoder.layer." + layer + "." + path(module) + ".ia3_l";
    }

    /** Input features of a module for a base of width {@code hidden} and FFN width {@code intermediate}. */
    public static int inFeatures(String module, int hidden, int intermediate) {
        return BertModules.inFeatures(module, hidden, intermediate);
    }

    /** Output features of a module. */
    public static int outFeatures(String module, int hidden, int intermediate) {
        return BertModules.outFeatures(module, hidden, intermediate);
    }

    /** The stored shape of the module's vector: {@code [1, in]} when feed-forward, else {@code [out, 1]}, as PEFT stores {@code ia3_l}. */
    public long[] shape(String module, int hidden, int intermediate) {
        return isFeedforward(module) ? new long[]{1, inFeatures(module, hidden, intermediate)}
                : new long[]{outFeatures(module, hidden, intermediate), 1};
    }

    /** Whether some vector has the FFN's width (the input of {@code output.dense} or the output of {@code intermediate.dense}). */
    public boolean usesIntermediate() {
        return (targetModules.contains("output.dense") && isFeedforward("output.dense"))
                || (targetModules.contains("intermediate.dense") && !isFeedforward("intermediate.dense"));
    }

    /** Trainable values per encoder layer. */
    public long parametersPerLayer(int hidden, int intermediate) {
        long n = 0;
        for (String m : targetModules) {
            long[] s = shape(m, hidden, intermediate);
            n += s[0] * s[1];
        }
        return n;
    }
}

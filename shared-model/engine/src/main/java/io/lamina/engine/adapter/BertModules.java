package io.lamina.engine.adapter;

import java.util.List;
import java.util.Map;

/**
 * The linear layers of one BERT encoder layer that adapters wrap, by the names specs use: short for the
 * attention projections ({@code query}, {@code key}, {@code value}), else their path inside the layer
 * ({@code attention.output.dense}, {@code intermediate.dense}, {@code output.dense}). PEFT keys use the
 * full path ({@link #path}).
 */
public final class BertModules {
    /** Every adaptable linear, in layer order (also the canonical order adapters are initialised in). */
    public static final List<String> MODULES = List.of("query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense");
    /** The attention projections, which the base model fuses into one Q|K|V matrix. */
    public static final List<String> ATTENTION = List.of("query", "key", "value");
    private static final Map<String, String> PATHS = Map.of(
            "query", "attention.self.query", "key", "attention.self.key", "value", "attention.self.value",
            "attention.output.dense", "attention.output.dense", "intermediate.dense", "intermediate.dense", "output.dense", "output.dense");

    private BertModules() {
    }

    /** The module's path inside an encoder layer, e.g. {@code attention.self.key}. */
    public static String path(String module) {
        String p = PATHS.get(module);
        if (p == null) throw new IllegalArgumentException("unknown module '" + module + "', known: " + MODULES);
        return p;
    }

    /** The module named by a path inside a layer, or {@code null}. */
    public static String moduleOfPath(String path) {
        for (Map.Entry<String, String> e : PATHS.entrySet()) if (e.getValue().equals(path)) return e.getKey();
        return null;
    }

    /** Input features for a base of width {@code hidden} and FFN width {@code intermediate}. */
    public static int inFeatures(String module, int hidden, int intermediate) {
        path(module);
        return module.equals("output.dense") ? intermediate : hidden;
    }

    /** Output features. */
    public static int outFeatures(String module, int hidden, int intermediate) {
        path(module);
        return module.equals("intermediate.dense") ? intermediate : hidden;
    }

    /** Whether a feature count of the module depends on the FFN width. */
    public static boolean usesIntermediate(String module) {
        return module.equals("output.dense") || module.equals("intermediate.dense");
    }
}

package io.lamina.engine.adapter;

import java.util.Map;

/**
 * How an adapter was made (Tribuo-style): every artifact carries it. Keys of {@code details}
 * are kebab-case (e.g. {@code seed}, {@code dataset-sha256}, {@code steps}, {@code merged-from}).
 */
public record AdapterProvenance(String method, Map<String, String> details) {
    public static final String TRAINED = "trained";
    public static final String MERGED = "merged";

    public AdapterProvenance {
        details = Map.copyOf(details);
    }
}

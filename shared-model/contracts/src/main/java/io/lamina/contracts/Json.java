package io.lamina.contracts;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/** The one JSON configuration used for messages, workflow payloads and files. */
public final class Json {
    /** Deeper documents are refused before they can exhaust the stack. */
    public static final int MAX_NESTING_DEPTH = 32;

    private static final ObjectMapper MAPPER = configure(new ObjectMapper());

    /** Applies Lamina's settings to a mapper (also used for Spring's own mapper). */
    public static ObjectMapper configure(ObjectMapper mapper) {
        mapper.registerModule(new JavaTimeModule());
        mapper.disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);
        // Minor schema versions may add fields: readers ignore what they do not know.
        mapper.disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
        // A document is one value: "{} }" or "{}{}" is malformed, not the first value and garbage.
        mapper.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        mapper.getFactory().setStreamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(MAX_NESTING_DEPTH).build());
        return mapper;
    }

    public static ObjectMapper mapper() {
        return MAPPER;
    }

    /** JSON text of a value (for jsonb columns and files); values here are always serialisable. */
    public static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** Reads JSON this platform wrote (a jsonb column, a stored result). */
    public static <T> T read(String json, TypeReference<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored JSON does not read as " + type.getType(), e);
        }
    }

    public static <T> T read(String json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("stored JSON does not read as " + type.getSimpleName(), e);
        }
    }

    private Json() {
    }
}

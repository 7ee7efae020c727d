package io.lamina.workflows.bridge;

import java.util.Base64;

/** Temporal task tokens travel in Kafka messages as base64 text. */
public final class TaskTokens {
    public static String encode(byte[] token) {
        return Base64.getEncoder().encodeToString(token);
    }

    public static byte[] decode(String token) {
        return Base64.getDecoder().decode(token);
    }

    private TaskTokens() {
    }
}

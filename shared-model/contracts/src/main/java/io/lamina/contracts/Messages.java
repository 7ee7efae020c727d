package io.lamina.contracts;

import java.time.Instant;
import java.util.UUID;

/** Helpers for building envelopes. */
public final class Messages {
    public static String newEventId() {
        return UUID.randomUUID().toString();
    }

    public static Instant now() {
        return Instant.now();
    }

    private Messages() {
    }
}

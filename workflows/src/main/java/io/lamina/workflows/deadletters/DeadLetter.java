package io.lamina.workflows.deadletters;

import java.time.Instant;

/**
 * One record of a {@code <topic>.dlq} topic as an operator sees it.
 *
 * @param payload        the original payload as UTF-8 text (malformed bytes replaced), at most
 *                       {@link DeadLetters#MAX_PAYLOAD_CHARS} characters
 * @param payloadBytes   the size of the original payload
 * @param truncated      whether {@code payload} was cut
 * @param replayedAt     when it was replayed, or null
 */
public record DeadLetter(String topic, int partition, long offset, String key, String originalTopic, String reason,
                         Instant timestamp, String payload, int payloadBytes, boolean truncated, Instant replayedAt) {
}

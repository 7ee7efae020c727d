package io.lamina.contracts.messages;

import java.time.Instant;

/**
 * The envelope every Kafka message carries. {@code type} is the record's simple name and is
 * written by {@link io.lamina.contracts.MessageCodec}; {@code schemaVersion} is the major
 * version of the message's JSON Schema ({@code schemas/<type>.schema.json}).
 */
public interface LaminaMessage {
    int SCHEMA_VERSION = 1;

    String eventId();

    int schemaVersion();

    Instant occurredAt();

    String streamId();
}

package io.lamina.support;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.messages.LaminaMessage;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.kafka.support.KafkaHeaders;
import org.springframework.messaging.support.MessageBuilder;
import org.springframework.util.MimeTypeUtils;

import java.nio.charset.StandardCharsets;

/** Publishes contract messages as JSON, keyed by stream id (so a stream's messages stay in order). */
public class MessagePublisher {
    private final StreamBridge bridge;

    public MessagePublisher(StreamBridge bridge) {
        this.bridge = bridge;
    }

    public void publish(String topic, LaminaMessage message) {
        publishEncoded(topic, message.streamId(), message.getClass().getSimpleName(), MessageCodec.encode(message));
    }

    /**
     * Publishes an already encoded message (the {@link OutboxRelay}'s path). Returns only once
     * Kafka acknowledged it (the binder's producers are synchronous); throws otherwise.
     */
    public void publishEncoded(String topic, String key, String type, byte[] payload) {
        var kafkaMessage = MessageBuilder.withPayload(payload)
                .setHeader(KafkaHeaders.KEY, key.getBytes(StandardCharsets.UTF_8))
                .setHeader("lamina_type", type)
                .build();
        if (!bridge.send(topic, kafkaMessage, MimeTypeUtils.APPLICATION_JSON)) {
            throw new IllegalStateException("Kafka refused a " + type + " for " + topic);
        }
    }
}

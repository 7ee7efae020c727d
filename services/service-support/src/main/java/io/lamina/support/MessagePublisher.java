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
        var kafkaMessage = MessageBuilder.withPayload(MessageCodec.encode(message))
                .setHeader(KafkaHeaders.KEY, message.streamId().getBytes(StandardCharsets.UTF_8))
                .setHeader("lamina_type", message.getClass().getSimpleName())
                .build();
        if (!bridge.send(topic, kafkaMessage, MimeTypeUtils.APPLICATION_JSON)) {
            throw new IllegalStateException("Kafka refused a " + message.getClass().getSimpleName() + " for " + topic);
        }
    }
}

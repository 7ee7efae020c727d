package io.lamina.workflows.bridge;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.function.Consumer;

/** One Kafka consumer per events topic the workflows listen to; all go through the bridge. */
@Configuration(proxyBeanMethods = false)
class EventConsumers {
    @Bean
    Consumer<Message<byte[]>> datasetEvents(KafkaTemporalBridge bridge) {
        return m -> bridge.onMessage(m.getPayload());
    }

    @Bean
    Consumer<Message<byte[]>> trainingEvents(KafkaTemporalBridge bridge) {
        return m -> bridge.onMessage(m.getPayload());
    }

    @Bean
    Consumer<Message<byte[]>> registryEvents(KafkaTemporalBridge bridge) {
        return m -> bridge.onMessage(m.getPayload());
    }

    @Bean
    Consumer<Message<byte[]>> evaluationEvents(KafkaTemporalBridge bridge) {
        return m -> bridge.onMessage(m.getPayload());
    }

    @Bean
    Consumer<Message<byte[]>> compositionEvents(KafkaTemporalBridge bridge) {
        return m -> bridge.onMessage(m.getPayload());
    }

    @Bean
    Consumer<Message<byte[]>> hypernetworkEvents(KafkaTemporalBridge bridge) {
        return m -> bridge.onMessage(m.getPayload());
    }
}

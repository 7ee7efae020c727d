package io.lamina.gateway.live;

import io.lamina.contracts.MalformedMessageException;
import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.messages.TrainingProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.function.Consumer;

/**
 * Reads {@code lamina.training.events} (binding {@code trainingEvents-in-0}) for the live views. The
 * binding has no consumer group: every gateway replica sees every event, from the moment it starts
 * (progress is a live signal; what was missed is in the stream's own state, which the dashboard polls).
 * Other training events (completions, failures) are not this consumer's business and are skipped.
 */
@Configuration(proxyBeanMethods = false)
class TrainingEventsConsumer {
    private static final Logger log = LoggerFactory.getLogger(TrainingEventsConsumer.class);

    @Bean
    Consumer<Message<byte[]>> trainingEvents(TrainingProgressHub hub) {
        return message -> {
            try {
                if (MessageCodec.decode(message.getPayload()) instanceof TrainingProgress p) hub.publish(ProgressEvent.of(p));
            } catch (MalformedMessageException e) {
                // the workflows' consumer dead-letters it; here it is only not shown
                log.debug("training event not shown: {}", e.getMessage());
            }
        };
    }
}

package io.lamina.evaluation.messaging;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.CommandFailed;
import io.lamina.contracts.messages.EvaluateStream;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.evaluation.domain.StreamEvaluator;
import io.lamina.support.MessagePublisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.function.Consumer;

/** Consumes {@code lamina.evaluation.commands}; answers on {@code lamina.evaluation.events}. */
@Configuration(proxyBeanMethods = false)
class EvaluationCommandsConsumer {
    private static final Logger log = LoggerFactory.getLogger(EvaluationCommandsConsumer.class);

    @Bean
    Consumer<Message<byte[]>> evaluationCommands(StreamEvaluator evaluator, MessagePublisher publisher) {
        return message -> {
            EvaluateStream c = MessageCodec.decode(message.getPayload(), EvaluateStream.class);
            LaminaMessage reply;
            try {
                // EvaluationCompleted goes through the outbox, in the transaction of the row's upsert.
                evaluator.evaluate(c);
                return;
            } catch (IllegalArgumentException e) {
                reply = failed(c, e.getMessage(), false);
            } catch (RuntimeException e) {
                log.error("evaluation of stream {} failed", c.streamId(), e);
                reply = failed(c, e.toString(), true);
            }
            publisher.publish(Topics.EVALUATION_EVENTS, reply);
        };
    }

    private static CommandFailed failed(EvaluateStream c, String reason, boolean retryable) {
        return new CommandFailed(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                c.taskToken(), "EvaluateStream", reason, retryable);
    }
}

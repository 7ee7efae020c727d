package io.lamina.registry.messaging;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.*;
import io.lamina.registry.domain.Registration;
import io.lamina.registry.domain.RegistryService;
import io.lamina.support.MessagePublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.NoSuchElementException;
import java.util.function.Consumer;

/** Consumes {@code lamina.registry.commands}; answers on {@code lamina.registry.events}. */
@Configuration(proxyBeanMethods = false)
class RegistryCommandsConsumer {

    @Bean
    Consumer<Message<byte[]>> registryCommands(RegistryService registry, MessagePublisher publisher) {
        return message -> {
            LaminaMessage command = MessageCodec.decode(message.getPayload());
            try {
                // The answer goes through the registry's outbox, in the transaction of the change.
                handle(registry, command);
            } catch (IllegalArgumentException | NoSuchElementException e) {
                String token = command instanceof AsyncCommand c ? c.taskToken() : null;
                publisher.publish(Topics.REGISTRY_EVENTS, new CommandFailed(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION,
                        Messages.now(), command.streamId(), token, command.getClass().getSimpleName(), e.getMessage(), false));
            }
        };
    }

    private static void handle(RegistryService registry, LaminaMessage command) {
        if (command instanceof RegisterAdapter c) {
            registry.register(Registration.of(c), c.taskToken(), c.eventId());
            return;
        }
        if (command instanceof ChangeAdapterStatus c) {
            registry.changeStatus(c.adapterId(), c.status(), c.reason(), c.taskToken(), c.eventId());
            return;
        }
        throw new IllegalArgumentException("the registry does not handle " + command.getClass().getSimpleName());
    }
}

package io.lamina.registry.messaging;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.*;
import io.lamina.registry.domain.AdapterView;
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
                publisher.publish(Topics.REGISTRY_EVENTS, handle(registry, command));
            } catch (IllegalArgumentException | NoSuchElementException e) {
                String token = command instanceof AsyncCommand c ? c.taskToken() : null;
                publisher.publish(Topics.REGISTRY_EVENTS, new CommandFailed(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION,
                        Messages.now(), command.streamId(), token, command.getClass().getSimpleName(), e.getMessage(), false));
            }
        };
    }

    private static LaminaMessage handle(RegistryService registry, LaminaMessage command) {
        if (command instanceof RegisterAdapter c) {
            AdapterView a = registry.register(Registration.of(c));
            return new AdapterRegistered(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), a.streamId(),
                    a.taskKey(), c.taskToken(), a.adapterId(), a.version(), a.description(), a.blobKey(), a.sha256(),
                    a.baseFingerprint());
        }
        if (command instanceof ChangeAdapterStatus c) {
            AdapterView a = registry.changeStatus(c.adapterId(), c.status(), c.reason());
            return new AdapterStatusChanged(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), a.streamId(),
                    c.taskToken(), a.adapterId(), a.status(), a.statusReason());
        }
        throw new IllegalArgumentException("the registry does not handle " + command.getClass().getSimpleName());
    }
}

package io.lamina.hypernetwork.messaging;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.AdapterRegistered;
import io.lamina.contracts.messages.CommandFailed;
import io.lamina.contracts.messages.FindNearestAdapter;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.contracts.messages.NearestAdapterFound;
import io.lamina.hypernetwork.domain.AdapterIndex;
import io.lamina.support.MessagePublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.function.Consumer;

/** Indexes adapters as the registry announces them, and answers {@link FindNearestAdapter}. */
@Configuration(proxyBeanMethods = false)
class HypernetworkConsumers {

    @Bean
    Consumer<Message<byte[]>> registryEvents(AdapterIndex index) {
        return message -> {
            if (MessageCodec.decode(message.getPayload()) instanceof AdapterRegistered e) {
                index.add(e.adapterId(), e.streamId(), e.description(), e.blobKey(), e.baseFingerprint());
            }
        };
    }

    @Bean
    Consumer<Message<byte[]>> hypernetworkCommands(AdapterIndex index, MessagePublisher publisher) {
        return message -> {
            FindNearestAdapter c = MessageCodec.decode(message.getPayload(), FindNearestAdapter.class);
            LaminaMessage reply;
            try {
                var nearest = index.nearest(c.description());
                reply = new NearestAdapterFound(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                        c.taskToken(), nearest.map(n -> n.entry().adapterId()).orElse(null),
                        nearest.map(n -> n.entry().blobKey()).orElse(null), nearest.map(AdapterIndex.Nearest::similarity).orElse(0.0));
            } catch (IllegalArgumentException e) {
                reply = new CommandFailed(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                        c.taskToken(), "FindNearestAdapter", e.getMessage(), false);
            }
            publisher.publish(Topics.HYPERNETWORK_EVENTS, reply);
        };
    }
}

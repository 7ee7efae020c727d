package io.lamina.composition.messaging;

import io.lamina.composition.domain.MergeJobs;
import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.AdaptersMerged;
import io.lamina.contracts.messages.CommandFailed;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.contracts.messages.MergeAdapters;
import io.lamina.support.MessagePublisher;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * Merges as workflow activities: consumes {@code MergeAdapters}, answers {@code AdaptersMerged}
 * (or {@code CommandFailed}) on {@code lamina.composition.events}. A learned merge is awaited here,
 * so the activity completes only when the merged adapter is registered.
 */
@Configuration(proxyBeanMethods = false)
class CompositionCommandsConsumer {

    @Bean
    Consumer<Message<byte[]>> compositionCommands(MergeJobs merges, MessagePublisher publisher) {
        return message -> {
            MergeAdapters c = MessageCodec.decode(message.getPayload(), MergeAdapters.class);
            LaminaMessage reply;
            try {
                // AdaptersMerged goes to the outbox in the transaction that marks the merge job SUCCEEDED.
                MergeJobs.MergeJob job = merges.submit(c.request(), (mergeId, adapterId, blobKey, sha256) ->
                        new AdaptersMerged(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                                c.taskToken(), mergeId, adapterId, blobKey, sha256));
                while (job.status().equals("RUNNING")) {
                    Thread.sleep(500);
                    job = merges.find(job.mergeId()).orElseThrow();
                }
                if (job.status().equals("FAILED")) throw new IllegalArgumentException(job.error());
                return;
            } catch (IllegalArgumentException | NoSuchElementException e) {
                reply = failed(c, e.getMessage(), false);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                reply = failed(c, "interrupted", true);
            } catch (RuntimeException e) {
                reply = failed(c, e.toString(), true);
            }
            publisher.publish(Topics.COMPOSITION_EVENTS, reply);
        };
    }

    private static CommandFailed failed(MergeAdapters c, String reason, boolean retryable) {
        return new CommandFailed(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                c.taskToken(), "MergeAdapters", reason, retryable);
    }
}

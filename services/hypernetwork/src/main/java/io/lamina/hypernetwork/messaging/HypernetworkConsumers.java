package io.lamina.hypernetwork.messaging;

import io.lamina.contracts.LabeledText;
import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.AdapterGenerated;
import io.lamina.contracts.messages.AdapterRegistered;
import io.lamina.contracts.messages.CommandFailed;
import io.lamina.contracts.messages.FindNearestAdapter;
import io.lamina.contracts.messages.GenerateAdapter;
import io.lamina.contracts.messages.GeneratorTrained;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.contracts.messages.NearestAdapterFound;
import io.lamina.contracts.messages.TrainGenerator;
import io.lamina.contracts.MalformedMessageException;
import io.lamina.engine.hypernetwork.AdapterGeneration;
import io.lamina.hypernetwork.domain.AdapterIndex;
import io.lamina.hypernetwork.domain.GeneratorStore;
import io.lamina.hypernetwork.domain.Generators;
import io.lamina.support.MessagePublisher;
import io.lamina.support.ServiceClients;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * Indexes adapters as the registry announces them (and asks for a new generator version when
 * enough have arrived), and answers the workflows' commands: {@link FindNearestAdapter},
 * {@link GenerateAdapter}, {@link TrainGenerator}.
 */
@Configuration(proxyBeanMethods = false)
class HypernetworkConsumers {
    private static final Logger log = LoggerFactory.getLogger(HypernetworkConsumers.class);
    /**
     * Generator training takes minutes: it runs on its own thread so lookups and generation keep
     * being answered meanwhile (the workflow's activity waits for {@link GeneratorTrained}).
     */
    private final ExecutorService training = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "generator-training");
        t.setDaemon(true);
        return t;
    });

    @Bean
    Consumer<Message<byte[]>> registryEvents(AdapterIndex index, Generators generators) {
        return message -> {
            if (MessageCodec.decode(message.getPayload()) instanceof AdapterRegistered e) {
                index.add(e.adapterId(), e.streamId(), e.description(), e.blobKey(), e.baseFingerprint(), generators.learnsFrom(e.blobKey()));
                generators.requestTrainingIfDue();
            }
        };
    }

    @Bean
    Consumer<Message<byte[]>> hypernetworkCommands(AdapterIndex index, Generators generators, ServiceClients clients,
                                                   MessagePublisher publisher) {
        return message -> {
            LaminaMessage command = MessageCodec.decode(message.getPayload());
            if (command instanceof FindNearestAdapter c) {
                publisher.publish(Topics.HYPERNETWORK_EVENTS, nearest(index, c));
            } else if (command instanceof GenerateAdapter c) {
                publisher.publish(Topics.HYPERNETWORK_EVENTS, generate(generators, clients, c));
            } else if (command instanceof TrainGenerator c) {
                training.execute(() -> publisher.publish(Topics.HYPERNETWORK_EVENTS, train(generators, c)));
            } else {
                throw new MalformedMessageException("the hypernetwork service takes no " + command.getClass().getSimpleName());
            }
        };
    }

    private static LaminaMessage nearest(AdapterIndex index, FindNearestAdapter c) {
        try {
            var nearest = index.nearest(c.description());
            return new NearestAdapterFound(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                    c.taskToken(), nearest.map(n -> n.entry().adapterId()).orElse(null),
                    nearest.map(n -> n.entry().blobKey()).orElse(null), nearest.map(AdapterIndex.Nearest::similarity).orElse(0.0));
        } catch (IllegalArgumentException e) {
            return failed(c.streamId(), c.taskToken(), "FindNearestAdapter", e.getMessage(), false);
        }
    }

    /** A generated adapter for the task, else the nearest registered one, else none: a warm start never blocks training. */
    private static LaminaMessage generate(Generators generators, ServiceClients clients, GenerateAdapter c) {
        try {
            ServiceClients.Dataset d = clients.dataset(c.datasetId());
            String description = c.description() == null || c.description().isBlank() ? d.description() : c.description();
            var result = generators.generate(new Generators.Request(c.streamId(), c.taskKey(), description, d.train(), c.method()),
                    d.datasetId(), d.test());
            if (result.isPresent()) {
                Generators.Result r = result.get();
                return new AdapterGenerated(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(), c.taskToken(),
                        r.adapterId(), r.blobKey(), r.method(), r.generatorId(), r.generationMillis());
            }
            var nearest = generators.nearest(description);
            return new AdapterGenerated(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(), c.taskToken(),
                    nearest.map(n -> n.entry().adapterId()).orElse(null), nearest.map(n -> n.entry().blobKey()).orElse(null),
                    nearest.isPresent() ? Generators.NEAREST : null, null, 0);
        } catch (IllegalArgumentException | java.util.NoSuchElementException e) {
            return failed(c.streamId(), c.taskToken(), "GenerateAdapter", e.getMessage(), false);
        }
    }

    private static LaminaMessage train(Generators generators, TrainGenerator c) {
        try {
            GeneratorStore.GeneratorVersion g = generators.train(AdapterGeneration.Method.fromWire(c.method()),
                    c.reason() == null ? "requested" : c.reason());
            return new GeneratorTrained(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(), c.taskToken(),
                    g.generatorId(), g.method(), g.version(), g.trainingAdapters(), g.samples(), g.seconds());
        } catch (IllegalArgumentException e) {
            log.info("{} generator not trained: {}", c.method(), e.getMessage());
            return failed(c.streamId(), c.taskToken(), "TrainGenerator", e.getMessage(), false);
        } catch (RuntimeException e) {
            log.error("{} generator training failed", c.method(), e);
            return failed(c.streamId(), c.taskToken(), "TrainGenerator", e.toString(), true);
        }
    }

    private static CommandFailed failed(String streamId, String token, String type, String reason, boolean retryable) {
        return new CommandFailed(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), streamId, token, type, reason, retryable);
    }
}

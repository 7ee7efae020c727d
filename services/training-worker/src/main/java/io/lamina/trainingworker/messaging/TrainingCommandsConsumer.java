package io.lamina.trainingworker.messaging;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.messages.TrainAdapter;
import io.lamina.trainingworker.domain.TrainingJobs;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.messaging.Message;

import java.util.function.Consumer;

/** Consumes {@code lamina.training.commands}; one job at a time per consumer (training saturates the CPU). */
@Configuration(proxyBeanMethods = false)
class TrainingCommandsConsumer {
    @Bean
    Consumer<Message<byte[]>> trainingCommands(TrainingJobs jobs) {
        return message -> jobs.run(MessageCodec.decode(message.getPayload(), TrainAdapter.class));
    }
}

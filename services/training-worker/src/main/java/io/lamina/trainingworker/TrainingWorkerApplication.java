package io.lamina.trainingworker;

import io.lamina.support.LaminaServiceSupport;
import io.lamina.support.ServiceLauncher;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/** Trains adapters with the engine; scales out as a Kafka consumer group. */
@SpringBootApplication
@Import(LaminaServiceSupport.class)
@EnableConfigurationProperties(TrainingWorkerProperties.class)
public class TrainingWorkerApplication {
    public static ConfigurableApplicationContext start(String... args) {
        return ServiceLauncher.start(TrainingWorkerApplication.class, "training-worker", args);
    }

    public static void main(String[] args) {
        start(args);
    }
}

package io.lamina.ingestion;

import io.lamina.support.LaminaServiceSupport;
import io.lamina.support.ServiceLauncher;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;

/** Intake of task datasets from the upstream Kafka topic and {@code POST /api/datasets}. */
@SpringBootApplication
@Import(LaminaServiceSupport.class)
public class IngestionApplication {
    public static ConfigurableApplicationContext start(String... args) {
        return ServiceLauncher.start(IngestionApplication.class, "ingestion", args);
    }

    public static void main(String[] args) {
        start(args);
    }
}

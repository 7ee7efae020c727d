package io.lamina.workflows;

import io.lamina.support.LaminaServiceSupport;
import io.lamina.support.ServiceLauncher;
import io.lamina.workflows.config.WorkflowsProperties;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;

/** Temporal workflows and their worker, the Kafka ↔ Temporal bridge and the streams API. */
@SpringBootApplication
@Import(LaminaServiceSupport.class)
@EnableConfigurationProperties(WorkflowsProperties.class)
public class WorkflowsApplication {
    public static ConfigurableApplicationContext start(String... args) {
        return ServiceLauncher.start(WorkflowsApplication.class, "workflows", args);
    }

    public static void main(String[] args) {
        start(args);
    }
}

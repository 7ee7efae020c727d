package io.lamina.registry;

import io.lamina.support.LaminaServiceSupport;
import io.lamina.support.ServiceLauncher;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Import;

/** Adapter versions, statuses, aliases, lineage and weights (PEFT format, content-addressed blobs). */
@SpringBootApplication
@Import(LaminaServiceSupport.class)
public class RegistryApplication {
    public static ConfigurableApplicationContext start(String... args) {
        return ServiceLauncher.start(RegistryApplication.class, "registry", args);
    }

    public static void main(String[] args) {
        start(args);
    }
}

package io.lamina.hypernetwork;

import io.lamina.support.LaminaServiceSupport;
import io.lamina.support.ServiceLauncher;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/**
 * Adapter generation: ICM-LoRA (a task description and its classes → LoRA) and GenerativeAdapter
 * (a few examples → LoRA in one pass), trained from the registry's adapters as they accumulate, and
 * an index of every registered adapter by its description for nearest-adapter warm starts.
 */
@SpringBootApplication
@org.springframework.boot.context.properties.EnableConfigurationProperties(io.lamina.hypernetwork.domain.HypernetworkProperties.class)
@Import(LaminaServiceSupport.class)
public class HypernetworkApplication {
    public static ConfigurableApplicationContext start(String... args) {
        return ServiceLauncher.start(HypernetworkApplication.class, "hypernetwork", args);
    }

    public static void main(String[] args) {
        start(args);
    }
}

package io.lamina.hypernetwork;

import io.lamina.support.LaminaServiceSupport;
import io.lamina.support.ServiceLauncher;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/**
 * Adapter generation. In this version: an index of every registered adapter by the base
 * model's embedding of its task description, answering "nearest existing adapter" for warm starts.
 */
@SpringBootApplication
@Import(LaminaServiceSupport.class)
public class HypernetworkApplication {
    public static ConfigurableApplicationContext start(String... args) {
        return ServiceLauncher.start(HypernetworkApplication.class, "hypernetwork", args);
    }

    public static void main(String[] args) {
        start(args);
    }
}

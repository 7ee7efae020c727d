package io.lamina.gateway;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.ConfigurableApplicationContext;

import java.util.ArrayList;
import java.util.List;

/** The single entry: routes {@code /api/**} to the services, serves OpenAPI and the dashboard. */
@SpringBootApplication
@EnableConfigurationProperties(GatewayProperties.class)
public class GatewayApplication {
    public static ConfigurableApplicationContext start(String... args) {
        List<String> all = new ArrayList<>(List.of("--spring.config.name=gateway", "--spring.application.name=gateway"));
        all.addAll(List.of(args));
        return new SpringApplicationBuilder(GatewayApplication.class).run(all.toArray(String[]::new));
    }

    public static void main(String[] args) {
        start(args);
    }
}

package io.lamina.support;

import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

import java.util.ArrayList;
import java.util.List;

/**
 * Starts a Lamina service. Each service reads {@code <name>.properties} rather than
 * {@code application.properties}, so that several services can share one classpath (the
 * embedded stack runs them all in one JVM, each in its own Spring context).
 */
public final class ServiceLauncher {
    public static ConfigurableApplicationContext start(Class<?> application, String name, String... args) {
        offlineEngine();
        List<String> all = new ArrayList<>();
        all.add("--spring.config.name=" + name);
        all.add("--spring.application.name=" + name);
        all.addAll(List.of(args));
        return new SpringApplicationBuilder(application).run(all.toArray(String[]::new));
    }

    /**
     * DJL must never try to download an engine: libtorch comes from the pytorch-native jar on the
     * classpath (or a local libtorch named by PYTORCH_LIBRARY_PATH on GPU machines).
     */
    public static void offlineEngine() {
        if (System.getProperty("ai.djl.offline") == null) System.setProperty("ai.djl.offline", "true");
    }

    private ServiceLauncher() {
    }
}

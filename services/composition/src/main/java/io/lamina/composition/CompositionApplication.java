package io.lamina.composition;

import io.lamina.engine.model.BaseModel;
import io.lamina.engine.serving.Composer;
import io.lamina.support.LaminaServiceSupport;
import io.lamina.support.ServiceLauncher;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/** Merges adapters offline and composes or routes them at inference. */
@SpringBootApplication
@Import(LaminaServiceSupport.class)
public class CompositionApplication {
    @Bean
    Composer composer(BaseModel base) {
        return new Composer(base);
    }

    public static ConfigurableApplicationContext start(String... args) {
        return ServiceLauncher.start(CompositionApplication.class, "composition", args);
    }

    public static void main(String[] args) {
        start(args);
    }
}

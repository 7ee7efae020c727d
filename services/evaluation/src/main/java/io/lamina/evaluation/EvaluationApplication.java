package io.lamina.evaluation;

import io.lamina.engine.model.BaseModel;
import io.lamina.engine.routing.AdapterRouter;
import io.lamina.support.LaminaServiceSupport;
import io.lamina.support.ServiceLauncher;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/** Scores a stream's adapter set on every seen task and keeps the accuracy matrix. */
@SpringBootApplication
@Import(LaminaServiceSupport.class)
public class EvaluationApplication {
    @Bean
    AdapterRouter adapterRouter(BaseModel base) {
        return new AdapterRouter(base);
    }

    public static ConfigurableApplicationContext start(String... args) {
        return ServiceLauncher.start(EvaluationApplication.class, "evaluation", args);
    }

    public static void main(String[] args) {
        start(args);
    }
}

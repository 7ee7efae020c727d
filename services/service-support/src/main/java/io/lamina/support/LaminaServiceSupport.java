package io.lamina.support;

import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.FileSystemBlobStore;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.oas.models.info.Info;
import io.swagger.v3.oas.models.servers.Server;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.web.client.RestClient;

import java.time.Duration;
import java.util.List;

/** What every Lamina service imports: messaging, blob store, clients of other services, errors. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(LaminaProperties.class)
@Import(ApiExceptionHandler.class)
public class LaminaServiceSupport {

    /**
     * The frozen base model, created only in the services that use it: the bundled all-MiniLM-L6-v2,
     * or a BERT-family Hugging Face directory given as {@code lamina.base-model.dir} (env
     * {@code LAMINA_BASE_MODEL_DIR}). Loaded once per process, shared by every service in the JVM.
     */
    @Bean
    @org.springframework.context.annotation.Lazy
    io.lamina.engine.model.BaseModel baseModel(
            @org.springframework.beans.factory.annotation.Value("${lamina.base-model.dir:${LAMINA_BASE_MODEL_DIR:}}") String dir) {
        return io.lamina.engine.model.BaseModel.configured(dir);
    }

    /** When a shared secret is configured, only the gateway and the other services get answers. */
    @Bean
    @org.springframework.boot.autoconfigure.condition.ConditionalOnProperty(name = "lamina.internal-secret")
    org.springframework.boot.web.servlet.FilterRegistrationBean<InternalSecret> internalSecret(
            @org.springframework.beans.factory.annotation.Value("${lamina.internal-secret}") String secret) {
        var registration = new org.springframework.boot.web.servlet.FilterRegistrationBean<>(new InternalSecret(secret));
        registration.setOrder(org.springframework.core.Ordered.HIGHEST_PRECEDENCE);
        registration.setEnabled(!secret.isBlank());
        return registration;
    }

    @Bean
    MessagePublisher messagePublisher(StreamBridge bridge) {
        return new MessagePublisher(bridge);
    }

    @Bean
    BlobStore blobStore(LaminaProperties properties) {
        return new FileSystemBlobStore(properties.blobRoot());
    }

    @Bean
    ServiceClients serviceClients(LaminaProperties properties, RestClient.Builder builder,
            @org.springframework.beans.factory.annotation.Value("${lamina.internal-secret:}") String internalSecret) {
        if (!internalSecret.isBlank()) builder = builder.clone().defaultHeader(InternalSecret.HEADER, internalSecret);
        return new ServiceClients(properties.services(), builder);
    }

    @Bean
    AdapterLoader adapterLoader(ServiceClients clients, BlobStore blobs, LaminaProperties properties) {
        return new AdapterLoader(clients, blobs, properties.adapterCacheBytes());
    }

    /**
     * Each service's OpenAPI document names a relative server, so "try it out" in the gateway's
     * Swagger UI goes through the gateway rather than to the service's own port.
     */
    @Bean
    OpenAPI laminaOpenApi(@Value("${spring.application.name}") String service) {
        return new OpenAPI().info(new Info().title("Lamina " + service).version("v1"))
                .servers(List.of(new Server().url("/")));
    }

    /**
     * Transactional outbox of the services that announce state changes (they set
     * {@code lamina.outbox.enabled=true} and create the {@code outbox} table in a migration).
     */
    @Bean
    @ConditionalOnProperty(name = "lamina.outbox.enabled", havingValue = "true")
    OutboxRelay outboxRelay(JdbcTemplate jdbc, PlatformTransactionManager transactions, MessagePublisher publisher,
                            @Value("${lamina.outbox.poll-interval:200ms}") Duration pollInterval) {
        return new OutboxRelay(jdbc, transactions, publisher::publishEncoded, pollInterval);
    }

    @Bean
    @ConditionalOnProperty(name = "lamina.outbox.enabled", havingValue = "true")
    Outbox outbox(JdbcTemplate jdbc, OutboxRelay relay) {
        return new Outbox(jdbc, relay::wake);
    }

    @Bean
    ProcessedEvents processedEvents(JdbcTemplate jdbc) {
        return new ProcessedEvents(jdbc);
    }
}

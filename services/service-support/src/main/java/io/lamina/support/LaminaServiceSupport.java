package io.lamina.support;

import io.lamina.engine.io.BlobStore;
import io.lamina.engine.io.FileSystemBlobStore;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.cloud.stream.function.StreamBridge;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Import;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.web.client.RestClient;

/** What every Lamina service imports: messaging, blob store, clients of other services, errors. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(LaminaProperties.class)
@Import(ApiExceptionHandler.class)
public class LaminaServiceSupport {

    @Bean
    MessagePublisher messagePublisher(StreamBridge bridge) {
        return new MessagePublisher(bridge);
    }

    @Bean
    BlobStore blobStore(LaminaProperties properties) {
        return new FileSystemBlobStore(properties.blobRoot());
    }

    @Bean
    ServiceClients serviceClients(LaminaProperties properties, RestClient.Builder builder) {
        return new ServiceClients(properties.services(), builder);
    }

    @Bean
    AdapterLoader adapterLoader(ServiceClients clients, BlobStore blobs) {
        return new AdapterLoader(clients, blobs);
    }

    @Bean
    ProcessedEvents processedEvents(JdbcTemplate jdbc) {
        return new ProcessedEvents(jdbc);
    }
}

package io.lamina.support;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.nio.file.Path;

/**
 * Settings every Lamina service shares.
 *
 * @param blobRoot  root of the content-addressed blob store (a shared volume in docker-compose)
 * @param services  base URLs of the services this one calls over HTTP
 * @param adapterCacheBytes memory budget of the in-process adapter cache
 */
@ConfigurationProperties(prefix = "lamina")
public record LaminaProperties(Path blobRoot, ServiceUrls services, long adapterCacheBytes) {
    public record ServiceUrls(String ingestion, String registry, String composition, String evaluation,
                              String hypernetwork, String trainingWorker, String workflows) {
    }
}

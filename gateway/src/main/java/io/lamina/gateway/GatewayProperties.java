package io.lamina.gateway;

import org.springframework.boot.context.properties.ConfigurationProperties;

/** Base URLs of the services behind the gateway. */
@ConfigurationProperties(prefix = "lamina.services")
public record GatewayProperties(String ingestion, String registry, String composition, String evaluation,
                                String hypernetwork, String workflows) {
}

package io.lamina.workflows.config;

import io.lamina.workflows.stream.StreamPolicy;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param temporalTarget  host:port of the Temporal frontend
 * @param namespace       Temporal namespace
 * @param defaultPolicy   the policy of a stream nobody configured
 */
@ConfigurationProperties(prefix = "lamina.workflows")
public record WorkflowsProperties(String temporalTarget, String namespace, StreamPolicy defaultPolicy) {
}

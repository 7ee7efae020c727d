package io.lamina.workflows.config;

import io.lamina.workflows.stream.StreamPolicy;
import io.lamina.workflows.task.TaskTimeouts;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param temporalTarget  host:port of the Temporal frontend
 * @param namespace       Temporal namespace
 * @param defaultPolicy   the policy of a stream nobody configured
 * @param timeouts        how long the services' work may take before Temporal retries it
 */
@ConfigurationProperties(prefix = "lamina.workflows")
public record WorkflowsProperties(String temporalTarget, String namespace, StreamPolicy defaultPolicy, TaskTimeouts timeouts) {
}

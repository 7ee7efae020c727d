package io.lamina.workflows.generators;

import io.lamina.contracts.messages.GeneratorTrained;
import io.temporal.workflow.WorkflowInterface;
import io.temporal.workflow.WorkflowMethod;

/**
 * Trains a new version of one generator (ICM-LoRA or GenerativeAdapter) in the hypernetwork
 * service. One runs per method at a time (workflow id {@link #workflowId}); it is started when the
 * hypernetwork service reports that enough new adapters were registered, or a user asks.
 */
@WorkflowInterface
public interface GeneratorTrainingWorkflow {
    @WorkflowMethod
    GeneratorTrained train(String method, String reason);

    static String workflowId(String method) {
        return "generator-training-" + method;
    }
}

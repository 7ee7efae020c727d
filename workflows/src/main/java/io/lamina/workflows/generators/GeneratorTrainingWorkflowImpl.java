package io.lamina.workflows.generators;

import io.lamina.contracts.messages.GeneratorTrained;
import io.lamina.workflows.activities.ServiceCommandActivities;
import io.lamina.workflows.activities.StreamStateActivities;
import io.lamina.workflows.task.TaskTimeouts;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.Workflow;

import java.time.Duration;

public class GeneratorTrainingWorkflowImpl implements GeneratorTrainingWorkflow {
    private final StreamStateActivities state = Workflow.newActivityStub(StreamStateActivities.class,
            ActivityOptions.newBuilder()
                    .setStartToCloseTimeout(Duration.ofSeconds(30))
                    .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(10).build())
                    .build());

    @Override
    public GeneratorTrained train(String method, String reason) {
        TaskTimeouts timeouts = state.timeouts();
        // Generators train for minutes, like adapters; a failed run is retried once, bad input never.
        ServiceCommandActivities hypernetwork = Workflow.newActivityStub(ServiceCommandActivities.class,
                ActivityOptions.newBuilder()
                        .setStartToCloseTimeout(timeouts.training())
                        .setRetryOptions(RetryOptions.newBuilder()
                                .setMaximumAttempts(2)
                                .setInitialInterval(Duration.ofSeconds(5))
                                .setDoNotRetry(IllegalArgumentException.class.getName(), "NonRetryable")
                                .build())
                        .build());
        return hypernetwork.trainGenerator(method, reason);
    }
}

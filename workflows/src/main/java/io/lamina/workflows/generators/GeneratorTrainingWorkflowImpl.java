package io.lamina.workflows.generators;

import io.lamina.contracts.messages.GeneratorTrained;
import io.lamina.workflows.activities.ActivityStubs;
import io.lamina.workflows.activities.ServiceCommandActivities;
import io.lamina.workflows.activities.StreamStateActivities;
import io.lamina.workflows.task.TaskTimeouts;
import io.temporal.activity.ActivityOptions;
import io.temporal.workflow.Workflow;

import java.time.Duration;

public class GeneratorTrainingWorkflowImpl implements GeneratorTrainingWorkflow {
    private final StreamStateActivities state = ActivityStubs.streamState();

    @Override
    public GeneratorTrained train(String method, String reason) {
        TaskTimeouts timeouts = state.timeouts();
        // Generators train for minutes, like adapters; a failed run is retried once, bad input never.
        ServiceCommandActivities hypernetwork = Workflow.newActivityStub(ServiceCommandActivities.class,
                ActivityOptions.newBuilder()
                        .setStartToCloseTimeout(timeouts.training())
                        .setRetryOptions(ActivityStubs.serviceRetry(2, Duration.ofSeconds(5)))
                        .build());
        return hypernetwork.trainGenerator(method, reason);
    }
}

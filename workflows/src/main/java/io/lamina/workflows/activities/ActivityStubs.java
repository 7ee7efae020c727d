package io.lamina.workflows.activities;

import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.Workflow;

import java.time.Duration;

/** The activity stubs Lamina's workflows share (call from workflow code only). */
public final class ActivityStubs {
    private ActivityStubs() {
    }

    /** Bad input cannot get better by retrying: failures of these types are not retried. */
    public static RetryOptions serviceRetry(int attempts, Duration firstInterval) {
        return RetryOptions.newBuilder()
                .setMaximumAttempts(attempts)
                .setInitialInterval(firstInterval)
                .setDoNotRetry(IllegalArgumentException.class.getName(), "NonRetryable")
                .build();
    }

    /** The stream's state in PostgreSQL: quick local writes, retried generously. */
    public static StreamStateActivities streamState() {
        return Workflow.newActivityStub(StreamStateActivities.class, ActivityOptions.newBuilder()
                .setStartToCloseTimeout(Duration.ofSeconds(30))
                .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(10).build())
                .build());
    }
}

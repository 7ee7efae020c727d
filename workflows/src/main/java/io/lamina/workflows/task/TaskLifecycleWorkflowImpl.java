package io.lamina.workflows.task;

import io.lamina.contracts.EvaluationTask;
import io.lamina.contracts.LineageEdge;
import io.lamina.contracts.messages.AdapterRegistered;
import io.lamina.contracts.messages.EvaluationCompleted;
import io.lamina.contracts.messages.NearestAdapterFound;
import io.lamina.contracts.messages.TrainingCompleted;
import io.lamina.workflows.activities.ServiceCommandActivities;
import io.lamina.workflows.activities.StreamStateActivities;
import io.lamina.workflows.stream.CompletedTask;
import io.lamina.workflows.stream.StreamPolicy;
import io.temporal.activity.ActivityOptions;
import io.temporal.common.RetryOptions;
import io.temporal.workflow.Workflow;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

public class TaskLifecycleWorkflowImpl implements TaskLifecycleWorkflow {
    /** Bad input cannot get better by retrying. */
    private static final RetryOptions RETRY = RetryOptions.newBuilder()
            .setMaximumAttempts(3)
            .setInitialInterval(Duration.ofSeconds(2))
            .setDoNotRetry(IllegalArgumentException.class.getName(), "NonRetryable")
            .build();

    private final StreamStateActivities state = Workflow.newActivityStub(StreamStateActivities.class,
            ActivityOptions.newBuilder()
                    .setStartToCloseTimeout(Duration.ofSeconds(30))
                    .setRetryOptions(RetryOptions.newBuilder().setMaximumAttempts(10).build())
                    .build());

    @Override
    public TaskOutcome run(TaskInput input) {
        String streamId = input.streamId();
        String taskKey = input.task().taskKey();
        StreamPolicy policy = state.policy(streamId);
        TaskTimeouts timeouts = state.timeouts();
        // Training runs for minutes in another service; its progress events are heartbeats, so a
        // worker that dies is noticed within the heartbeat timeout and the job is retried (and
        // resumes from its checkpoint, the job id being stable across attempts).
        ServiceCommandActivities training = Workflow.newActivityStub(ServiceCommandActivities.class,
                ActivityOptions.newBuilder()
                        .setStartToCloseTimeout(timeouts.training())
                        .setHeartbeatTimeout(timeouts.trainingHeartbeat())
                        .setRetryOptions(RETRY)
                        .build());
        // Registry, evaluation, merges and lookups.
        ServiceCommandActivities commands = Workflow.newActivityStub(ServiceCommandActivities.class,
                ActivityOptions.newBuilder()
                        .setStartToCloseTimeout(timeouts.command())
                        .setRetryOptions(RETRY)
                        .build());

        List<LineageEdge> lineage = new ArrayList<>();
        lineage.add(new LineageEdge("dataset:" + input.task().datasetId(), LineageEdge.TRAINED_ON));
        NearestAdapterFound warm = null;
        if (policy.warmStart()) {
            state.status(streamId, taskKey, "WARM_STARTING", null, null);
            warm = commands.findNearest(streamId, input.task().description());
            if (warm.adapterId() != null) lineage.add(new LineageEdge(warm.adapterId(), LineageEdge.WARM_STARTED_FROM));
        }

        state.status(streamId, taskKey, "TRAINING", null, null);
        TrainingCompleted trained = training.train(new ServiceCommandActivities.TrainRequest(streamId, taskKey,
                input.task().datasetId(), input.task().description(), policy.adapter(), policy.training(),
                warm == null ? null : warm.adapterId(), warm == null ? null : warm.blobKey()));

        state.status(streamId, taskKey, "REGISTERING", null, null);
        // Derived from the weights, not random: if this task is re-driven after a restart (the
        // embedded Temporal forgets its workflows), registering the same result again is a no-op.
        String adapterId = UUID.nameUUIDFromBytes((streamId + "\n" + taskKey + "\n" + trained.sha256())
                .getBytes(StandardCharsets.UTF_8)).toString();
        AdapterRegistered registered = commands.register(new ServiceCommandActivities.RegisterRequest(streamId, taskKey,
                adapterId, trained.blobKey(), trained.sha256(), input.task().description(), lineage,
                Map.of("final-loss", trained.finalLoss(), "train-seconds", trained.trainSeconds(), "steps", (double) trained.steps())));

        state.status(streamId, taskKey, "EVALUATING", registered.adapterId(), null);
        List<String> candidateSet = new ArrayList<>();
        List<EvaluationTask> seen = new ArrayList<>();
        for (CompletedTask previous : input.previous()) {
            if (previous.promoted()) candidateSet.add(previous.adapterId());
            seen.add(new EvaluationTask(previous.taskKey(), previous.datasetId()));
        }
        candidateSet.add(registered.adapterId());
        seen.add(new EvaluationTask(taskKey, input.task().datasetId()));
        EvaluationCompleted evaluation = commands.evaluate(streamId, taskKey, candidateSet, seen);
        state.evaluated(streamId, taskKey, evaluation);

        List<String> failed = new ArrayList<>();
        if (evaluation.averageAccuracy() < policy.minAverageAccuracy()) {
            failed.add(String.format("average accuracy %.3f below gate %.3f", evaluation.averageAccuracy(), policy.minAverageAccuracy()));
        }
        if (evaluation.averageForgetting() > policy.maxForgetting()) {
            failed.add(String.format("average forgetting %.3f above gate %.3f", evaluation.averageForgetting(), policy.maxForgetting()));
        }
        if (evaluation.negativeFlipRate() > policy.maxNegativeFlipRate()) {
            failed.add(String.format("negative flip rate %.3f above gate %.3f", evaluation.negativeFlipRate(), policy.maxNegativeFlipRate()));
        }
        boolean promote = failed.isEmpty();
        String reason = promote
                ? String.format("average accuracy %.3f >= gate %.3f", evaluation.averageAccuracy(), policy.minAverageAccuracy())
                : String.join("; ", failed);
        String status = promote ? "PROMOTED" : "REJECTED";
        commands.changeStatus(streamId, registered.adapterId(), status, reason);
        state.status(streamId, taskKey, status, registered.adapterId(), reason);
        return new TaskOutcome(registered.adapterId(), promote, reason);
    }
}

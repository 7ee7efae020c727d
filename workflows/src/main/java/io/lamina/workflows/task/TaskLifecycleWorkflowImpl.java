package io.lamina.workflows.task;

import io.lamina.contracts.ContinualTraining;
import io.lamina.contracts.EvaluationTask;
import io.lamina.contracts.MergeRequest;
import io.lamina.contracts.messages.AdaptersMerged;
import io.lamina.contracts.LineageEdge;
import io.lamina.contracts.messages.AdapterRegistered;
import io.lamina.contracts.messages.EvaluationCompleted;
import io.lamina.contracts.messages.AdapterGenerated;
import io.lamina.contracts.messages.NearestAdapterFound;
import io.lamina.contracts.messages.TrainingCompleted;
import io.lamina.workflows.activities.ActivityStubs;
import io.lamina.workflows.activities.ServiceCommandActivities;
import io.lamina.workflows.activities.StreamStateActivities;
import io.lamina.workflows.stream.CompletedTask;
import io.lamina.workflows.stream.StreamPolicy;
import io.lamina.workflows.stream.Strategy;
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
    private static final RetryOptions RETRY = ActivityStubs.serviceRetry(3, Duration.ofSeconds(2));

    private final StreamStateActivities state = ActivityStubs.streamState();

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

        Strategy strategy = policy.strategyKind();
        List<CompletedTask> promotedBefore = input.previous().stream().filter(CompletedTask::promoted).toList();
        // What serves the stream now: every promoted task adapter, or the one adapter/merge promoted last.
        List<String> serving = new ArrayList<>();
        if (strategy.serving() == Strategy.Serving.ADAPTER_PER_TASK) {
            for (CompletedTask t : promotedBefore) serving.add(t.servedAdapterId());
        } else if (!promotedBefore.isEmpty()) {
            serving.add(promotedBefore.get(promotedBefore.size() - 1).servedAdapterId());
        }
        List<String> promotedTaskAdapters = promotedBefore.stream().map(CompletedTask::adapterId).distinct().toList();

        List<LineageEdge> lineage = new ArrayList<>();
        lineage.add(new LineageEdge("dataset:" + input.task().datasetId(), LineageEdge.TRAINED_ON));
        ContinualTraining continual = switch (strategy) {
            case SEQUENTIAL -> serving.isEmpty() ? ContinualTraining.NONE
                    : new ContinualTraining(null, serving.get(0), null, null, null, null, null);
            case MORA -> new ContinualTraining(null, serving.isEmpty() ? null : serving.get(0), null, null, null, null, policy.mora());
            case JOINT -> new ContinualTraining(input.previous().stream().filter(t -> t.adapterId() != null).map(CompletedTask::datasetId).toList(),
                    null, null, null, null, null, null);
            case PER_TASK_RETRIEVAL -> new ContinualTraining(null, null, promotedTaskAdapters, policy.anchorMomentum(), null, null, null);
            case SEMA -> new ContinualTraining(null, null, null, null, promotedTaskAdapters, policy.expansionThreshold(), null);
            default -> ContinualTraining.NONE;
        };
        for (String extra : continual.extraDatasetIds()) lineage.add(new LineageEdge("dataset:" + extra, LineageEdge.TRAINED_ON));
        if (continual.continueFromAdapterId() != null) lineage.add(new LineageEdge(continual.continueFromAdapterId(), LineageEdge.CONTINUED_FROM));
        if (continual.anchorMomentum() != null && continual.anchorMomentum() > 0) {
            for (String id : continual.anchorAdapterIds()) lineage.add(new LineageEdge(id, LineageEdge.ANCHORED_TO));
        }

        String warmId = null;
        String warmBlob = null;
        if (strategy == Strategy.HYPERNETWORK_WARM_START && policy.startsFromOtherLoras()) {
            // a generated adapter (registered by the hypernetwork, lineage generated-by), else the nearest one
            state.status(streamId, taskKey, "GENERATING", null, null);
            AdapterGenerated generated = commands.generate(streamId, taskKey, input.task().datasetId(), input.task().description(), null);
            warmId = generated.adapterId();
            warmBlob = generated.blobKey();
        } else if (policy.warmStart() && strategy != Strategy.MORA && policy.startsFromOtherLoras()) {
            // MoRA continues its own experts; a LoRA found by description cannot seed them
            state.status(streamId, taskKey, "WARM_STARTING", null, null);
            NearestAdapterFound nearest = commands.findNearest(streamId, input.task().description());
            warmId = nearest.adapterId();
            warmBlob = nearest.blobKey();
        }
        if (warmId != null) lineage.add(new LineageEdge(warmId, LineageEdge.WARM_STARTED_FROM));

        state.status(streamId, taskKey, "TRAINING", null, null);
        TrainingCompleted trained = training.train(new ServiceCommandActivities.TrainRequest(streamId, taskKey,
                input.task().datasetId(), input.task().description(), policy.adapter(), policy.training(),
                warmId, warmBlob, continual));
        if (trained.sharesWeightsOf() != null) lineage.add(new LineageEdge(trained.sharesWeightsOf(), LineageEdge.SHARES_WEIGHTS_OF));

        state.status(streamId, taskKey, "REGISTERING", null, null);
        // Derived from the weights, not random: if this task is re-driven after a restart (the
        // embedded Temporal forgets its workflows), registering the same result again is a no-op.
        String adapterId = UUID.nameUUIDFromBytes((streamId + "\n" + taskKey + "\n" + trained.sha256())
                .getBytes(StandardCharsets.UTF_8)).toString();
        AdapterRegistered registered = commands.register(new ServiceCommandActivities.RegisterRequest(streamId, taskKey,
                adapterId, trained.blobKey(), trained.sha256(), input.task().description(), lineage,
                Map.of("final-loss", trained.finalLoss(), "train-seconds", trained.trainSeconds(), "steps", (double) trained.steps())));

        // The candidate that is gated: the task's adapter, or for merge-after-task the merge of every task's adapter.
        String candidate = registered.adapterId();
        if (strategy.serving() == Strategy.Serving.MERGED && !promotedTaskAdapters.isEmpty()) {
            state.status(streamId, taskKey, "MERGING", registered.adapterId(), null);
            List<MergeRequest.WeightedAdapter> inputs = new ArrayList<>();
            for (String id : promotedTaskAdapters) inputs.add(new MergeRequest.WeightedAdapter(id, null));
            inputs.add(new MergeRequest.WeightedAdapter(registered.adapterId(), null));
            AdaptersMerged merged = commands.merge(streamId, new MergeRequest(policy.mergeMethod(), null, inputs,
                    policy.mergeParams(), 0L, streamId, "stream " + streamId + " after " + taskKey + " (" + policy.mergeMethod() + ")"));
            candidate = merged.adapterId();
        }

        state.status(streamId, taskKey, "EVALUATING", registered.adapterId(), null);
        List<String> candidateSet = new ArrayList<>();
        if (strategy.serving() == Strategy.Serving.ADAPTER_PER_TASK) candidateSet.addAll(serving);
        candidateSet.add(candidate);
        List<EvaluationTask> seen = new ArrayList<>();
        for (CompletedTask previous : input.previous()) {
            if (previous.adapterId() != null) seen.add(new EvaluationTask(previous.taskKey(), previous.datasetId())); // not failed ones
        }
        seen.add(new EvaluationTask(taskKey, input.task().datasetId()));
        EvaluationCompleted evaluation = commands.evaluate(streamId, taskKey, candidateSet, seen, serving);
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
        if (!candidate.equals(registered.adapterId())) {
            // the task's adapter serves inside the merge, not on its own
            commands.changeStatus(streamId, registered.adapterId(), "RETIRED", "merged into " + candidate);
            state.served(streamId, taskKey, candidate);
        }
        commands.changeStatus(streamId, candidate, status, reason);
        if (promote && strategy.serving() != Strategy.Serving.ADAPTER_PER_TASK) {
            // one adapter serves the stream: the new one supersedes the old
            for (String old : serving) {
                if (!old.equals(candidate)) commands.changeStatus(streamId, old, "RETIRED", "superseded by " + candidate);
            }
        }
        state.status(streamId, taskKey, status, registered.adapterId(), reason);
        return new TaskOutcome(registered.adapterId(), promote, reason, candidate);
    }
}

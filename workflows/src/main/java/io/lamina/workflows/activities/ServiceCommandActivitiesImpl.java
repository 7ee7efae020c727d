package io.lamina.workflows.activities;

import io.lamina.contracts.EvaluationTask;
import io.lamina.contracts.MergeRequest;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.*;
import io.lamina.support.MessagePublisher;
import io.lamina.workflows.bridge.TaskTokens;
import io.temporal.activity.Activity;
import io.temporal.activity.ActivityExecutionContext;

import java.util.List;

/** Publishes each command with the task token and leaves the activity open (asynchronous completion). */
public class ServiceCommandActivitiesImpl implements ServiceCommandActivities {
    private final MessagePublisher publisher;

    public ServiceCommandActivitiesImpl(MessagePublisher publisher) {
        this.publisher = publisher;
    }

    @Override
    public TrainingCompleted train(TrainRequest r) {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        // One training job per task workflow, named after it: stable across retries of the activity
        // and across a re-driven workflow after a restart, so the job resumes from its checkpoint.
        String jobId = ctx.getInfo().getWorkflowId() + "/train";
        send(ctx, Topics.TRAINING_COMMANDS, new TrainAdapter(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(),
                r.streamId(), r.taskKey(), jobId, token(ctx), r.datasetId(), r.description(), r.adapter(), r.training(),
                r.warmStartAdapterId(), r.warmStartBlobKey(), r.continual()));
        return null;
    }

    @Override
    public AdapterRegistered register(RegisterRequest r) {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        send(ctx, Topics.REGISTRY_COMMANDS, new RegisterAdapter(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(),
                r.streamId(), r.taskKey(), token(ctx), r.adapterId(), r.blobKey(), r.sha256(), r.description(), r.lineage(), r.metrics()));
        return null;
    }

    @Override
    public EvaluationCompleted evaluate(String streamId, String taskKey, List<String> adapterIds, List<EvaluationTask> tasks,
                                        List<String> servingIds) {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        send(ctx, Topics.EVALUATION_COMMANDS, new EvaluateStream(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(),
                streamId, taskKey, token(ctx), adapterIds, tasks, servingIds));
        return null;
    }

    @Override
    public AdapterStatusChanged changeStatus(String streamId, String adapterId, String status, String reason) {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        send(ctx, Topics.REGISTRY_COMMANDS, new ChangeAdapterStatus(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(),
                streamId, token(ctx), adapterId, status, reason));
        return null;
    }

    @Override
    public AdaptersMerged merge(String streamId, MergeRequest request) {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        send(ctx, Topics.COMPOSITION_COMMANDS, new MergeAdapters(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(),
                streamId, token(ctx), request));
        return null;
    }

    @Override
    public NearestAdapterFound findNearest(String streamId, String description) {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        send(ctx, Topics.HYPERNETWORK_COMMANDS, new FindNearestAdapter(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION,
                Messages.now(), streamId, token(ctx), description));
        return null;
    }

    @Override
    public AdapterGenerated generate(String streamId, String taskKey, String datasetId, String description, String method) {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        send(ctx, Topics.HYPERNETWORK_COMMANDS, new GenerateAdapter(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION,
                Messages.now(), streamId, token(ctx), taskKey, datasetId, description, method));
        return null;
    }

    @Override
    public GeneratorTrained trainGenerator(String method, String reason) {
        ActivityExecutionContext ctx = Activity.getExecutionContext();
        send(ctx, Topics.HYPERNETWORK_COMMANDS, new TrainGenerator(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION,
                Messages.now(), GeneratorTrainingDue.GENERATORS, token(ctx), method, reason));
        return null;
    }

    private void send(ActivityExecutionContext ctx, String topic, LaminaMessage command) {
        publisher.publish(topic, command);
        ctx.doNotCompleteOnReturn();
    }

    private static String token(ActivityExecutionContext ctx) {
        return TaskTokens.encode(ctx.getTaskToken());
    }
}

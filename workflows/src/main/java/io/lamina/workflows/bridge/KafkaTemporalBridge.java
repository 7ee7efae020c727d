package io.lamina.workflows.bridge;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.messages.*;
import io.lamina.workflows.TaskQueues;
import io.lamina.workflows.generators.GeneratorTrainingWorkflow;
import io.lamina.workflows.state.StreamStore;
import io.lamina.workflows.stream.ContinualStreamWorkflow;
import io.lamina.workflows.stream.StreamRun;
import io.lamina.workflows.stream.TaskArrival;
import io.temporal.client.ActivityCompletionClient;
import io.temporal.client.ActivityCompletionException;
import io.temporal.client.BatchRequest;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.failure.ApplicationFailure;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.util.List;

/**
 * Turns Kafka events into Temporal calls: an ingested dataset becomes signal-with-start on its
 * stream's workflow; a service's progress event becomes a heartbeat of the activity whose task
 * token it carries; its result event completes that activity, and {@link CommandFailed} fails
 * it (without retries when the service says retrying cannot help).
 */
@Component
public class KafkaTemporalBridge {
    private static final Logger log = LoggerFactory.getLogger(KafkaTemporalBridge.class);

    private final WorkflowClient client;
    private final ActivityCompletionClient completions;
    private final StreamStore streams;

    KafkaTemporalBridge(WorkflowClient client, StreamStore streams) {
        this.client = client;
        this.completions = client.newActivityCompletionClient();
        this.streams = streams;
    }

    public void onMessage(byte[] payload) {
        LaminaMessage message = MessageCodec.decode(payload);
        if (message instanceof DatasetIngested e) {
            streams.registerArrival(e);
            // A re-delivered announcement of a finished task must not train it again, even when
            // the (in-memory) workflow that ran it is gone.
            if (streams.isFinished(e.streamId(), e.taskKey())) return;
            startOrSignal(e.streamId(), streams.completed(e.streamId()), new TaskArrival(e.taskKey(), e.datasetId(),
                    e.description() == null || e.description().isBlank() ? e.name() : e.description(), e.labels()));
        } else if (message instanceof GeneratorTrainingDue due) {
            startGeneratorTraining(due);
        } else if (message instanceof DatasetRejected e) {
            log.warn("dataset for stream {} task {} rejected: {}", e.streamId(), e.taskKey(), e.reasons());
        } else if (message instanceof TrainingProgress p) {
            streams.recordProgress(p.streamId(), p.taskKey(), p.step(), p.totalSteps(), p.loss(), p.examplesPerSecond());
            heartbeat(p.taskToken(), p);
        } else if (message instanceof CommandFailed f) {
            fail(f);
        } else if (message instanceof AsyncReply reply) {
            complete(reply.taskToken(), reply);
        }
    }

    /** Starts the stream's workflow if it is not running, and signals the arrival either way. */
    public void startOrSignal(String streamId, List<io.lamina.workflows.stream.CompletedTask> completed, TaskArrival arrival) {
        ContinualStreamWorkflow stream = client.newWorkflowStub(ContinualStreamWorkflow.class, WorkflowOptions.newBuilder()
                .setWorkflowId(TaskQueues.streamWorkflowId(streamId))
                .setTaskQueue(TaskQueues.STREAMS)
                .build());
        BatchRequest request = client.newSignalWithStartRequest();
        request.add(stream::run, new StreamRun(streamId, completed, List.of(), streams.isPaused(streamId)));
        request.add(stream::taskArrived, arrival);
        client.signalWithStart(request);
    }

    /** Starts the generator's training workflow unless one is running already (it will see the same adapters). */
    private void startGeneratorTraining(GeneratorTrainingDue due) {
        GeneratorTrainingWorkflow workflow = client.newWorkflowStub(GeneratorTrainingWorkflow.class, WorkflowOptions.newBuilder()
                .setWorkflowId(GeneratorTrainingWorkflow.workflowId(due.method()))
                .setTaskQueue(TaskQueues.STREAMS)
                .build());
        try {
            WorkflowClient.start(workflow::train, due.method(), due.reason());
            log.info("training a new {} generator: {}", due.method(), due.reason());
        } catch (io.temporal.client.WorkflowExecutionAlreadyStarted e) {
            log.info("the {} generator is being trained already; not starting another ({})", due.method(), due.reason());
        }
    }

    /**
     * Pauses or resumes a stream: the flag is stored (a stream started later starts paused) and the
     * running workflow, if any, is signalled.
     */
    public void setPaused(String streamId, boolean paused) {
        streams.setPaused(streamId, paused);
        ContinualStreamWorkflow stream = client.newWorkflowStub(ContinualStreamWorkflow.class, TaskQueues.streamWorkflowId(streamId));
        try {
            if (paused) stream.pause();
            else stream.resume();
        } catch (io.temporal.client.WorkflowNotFoundException e) {
            log.debug("stream {} has no running workflow; the {} flag applies when it starts", streamId, paused ? "paused" : "resumed");
        }
    }

    private void heartbeat(String token, Object details) {
        if (token == null) return;
        try {
            completions.heartbeat(TaskTokens.decode(token), details);
        } catch (ActivityCompletionException e) {
            log.debug("heartbeat for a closed activity ignored: {}", e.getMessage());
        }
    }

    private void complete(String token, Object result) {
        if (token == null) return;
        try {
            completions.complete(TaskTokens.decode(token), result);
        } catch (ActivityCompletionException e) {
            log.info("result for a closed activity ignored ({}): {}", result.getClass().getSimpleName(), e.getMessage());
        }
    }

    private void fail(CommandFailed f) {
        if (f.taskToken() == null) return;
        ApplicationFailure failure = f.retryable()
                ? ApplicationFailure.newFailure(f.reason(), f.commandType())
                : ApplicationFailure.newNonRetryableFailure(f.reason(), "NonRetryable");
        try {
            completions.completeExceptionally(TaskTokens.decode(f.taskToken()), failure);
        } catch (ActivityCompletionException e) {
            log.info("failure for a closed activity ignored: {}", e.getMessage());
        }
    }
}

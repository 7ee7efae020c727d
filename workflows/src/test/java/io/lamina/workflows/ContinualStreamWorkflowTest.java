package io.lamina.workflows;

import io.lamina.contracts.AdapterSettings;
import io.lamina.contracts.EvaluationTask;
import io.lamina.contracts.TrainingSettings;
import io.lamina.contracts.messages.AdapterRegistered;
import io.lamina.contracts.messages.AdapterStatusChanged;
import io.lamina.contracts.messages.EvaluationCompleted;
import io.lamina.contracts.messages.TrainingCompleted;
import io.lamina.workflows.activities.ServiceCommandActivities;
import io.lamina.workflows.activities.StreamStateActivities;
import io.lamina.workflows.stream.ContinualStreamWorkflow;
import io.lamina.workflows.stream.ContinualStreamWorkflowImpl;
import io.lamina.workflows.stream.StreamPolicy;
import io.lamina.workflows.stream.StreamRun;
import io.lamina.workflows.stream.StreamSnapshot;
import io.lamina.workflows.stream.TaskArrival;
import io.lamina.workflows.task.TaskLifecycleWorkflowImpl;
import io.lamina.workflows.task.TaskTimeouts;
import io.temporal.client.WorkflowClient;
import io.temporal.client.WorkflowOptions;
import io.temporal.testing.TestWorkflowEnvironment;
import io.temporal.worker.Worker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.mockito.ArgumentCaptor;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyList;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.*;

/**
 * The stream and task workflows on Temporal's in-memory test environment with the activities
 * mocked (the services behind them are exercised by the platform end-to-end test).
 */
class ContinualStreamWorkflowTest {
    private TestWorkflowEnvironment env;
    private ServiceCommandActivities commands;
    private StreamStateActivities state;

    @BeforeEach
    void setUp() {
        env = TestWorkflowEnvironment.newInstance();
        Worker worker = env.newWorker(TaskQueues.STREAMS);
        worker.registerWorkflowImplementationTypes(ContinualStreamWorkflowImpl.class, TaskLifecycleWorkflowImpl.class,
                io.lamina.workflows.generators.GeneratorTrainingWorkflowImpl.class);
        commands = mock(ServiceCommandActivities.class, withSettings().withoutAnnotations());
        state = mock(StreamStateActivities.class, withSettings().withoutAnnotations());
        worker.registerActivitiesImplementations(commands, state);
        env.start();
    }

    @AfterEach
    void tearDown() {
        env.close();
    }

    private static StreamPolicy policy(double gate) {
        return policy(null, gate, null);
    }

    private static StreamPolicy policy(String strategy, double gate, Double maxFlipRate) {
        return new StreamPolicy(strategy, new AdapterSettings("lora", 8, 16, 0.1, List.of("query", "value"), null),
                new TrainingSettings(1, 8, 1e-3, 1, 32, null, null, null, null), false, gate, null, maxFlipRate, null, null, null, null, null);
    }

    /** Negative flip rate the mocked evaluation reports after each task. */
    private double[] flipRates = new double[10];

    private void stubServices(double... averageAccuracies) {
        AtomicInteger evaluations = new AtomicInteger();
        when(commands.train(any())).thenAnswer(inv -> {
            ServiceCommandActivities.TrainRequest r = inv.getArgument(0);
            return new TrainingCompleted("e", 1, Instant.EPOCH, r.streamId(), r.taskKey(), "job", "t", "sha256/aa/" + "a".repeat(64),
                    "a".repeat(64) + r.taskKey(), 10, "LORA", 8, 3, 0.5, 1.0, "cpu()", "sha256:base", null);
        });
        when(commands.register(any())).thenAnswer(inv -> {
            ServiceCommandActivities.RegisterRequest r = inv.getArgument(0);
            return new AdapterRegistered("e", 1, Instant.EPOCH, r.streamId(), r.taskKey(), "t", r.adapterId(), 1, r.description(),
                    r.blobKey(), r.sha256(), "sha256:base");
        });
        when(commands.evaluate(anyString(), anyString(), anyList(), anyList(), anyList())).thenAnswer(inv -> {
            List<EvaluationTask> tasks = inv.getArgument(3);
            int n = evaluations.getAndIncrement();
            double average = averageAccuracies[n];
            return new EvaluationCompleted("e", 1, Instant.EPOCH, inv.getArgument(0), inv.getArgument(1), "t", tasks.size() - 1,
                    tasks.stream().map(t -> average).toList(), average, 0.0, 0.0, flipRates[n], 0.1, 1000L * (n + 1), Map.of());
        });
        when(commands.changeStatus(anyString(), anyString(), anyString(), anyString())).thenAnswer(inv ->
                new AdapterStatusChanged("e", 1, Instant.EPOCH, inv.getArgument(0), "t", inv.getArgument(1), inv.getArgument(2), inv.getArgument(3)));
    }

    private ContinualStreamWorkflow startStream(String streamId, TaskArrival... arrivals) {
        WorkflowClient client = env.getWorkflowClient();
        ContinualStreamWorkflow stream = client.newWorkflowStub(ContinualStreamWorkflow.class,
                WorkflowOptions.newBuilder().setWorkflowId(TaskQueues.streamWorkflowId(streamId)).setTaskQueue(TaskQueues.STREAMS).build());
        WorkflowClient.start(stream::run, new StreamRun(streamId, List.of(), List.of()));
        for (TaskArrival a : arrivals) stream.taskArrived(a);
        return stream;
    }

    private static StreamSnapshot awaitCompleted(ContinualStreamWorkflow stream, int n) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            StreamSnapshot s = stream.state();
            if (s.completed().size() >= n) return s;
            Thread.sleep(50);
        }
        throw new AssertionError("stream did not complete " + n + " tasks: " + stream.state());
    }

    @Test
    void tasksRunInArrivalOrderAndEachIsEvaluatedOnEverySeenTask() throws Exception {
        when(state.policy("s1")).thenReturn(policy(0.0));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9, 0.8);
        ContinualStreamWorkflow stream = startStream("s1",
                new TaskArrival("t1", "d1", "first", List.of("a")),
                new TaskArrival("t2", "d2", "second", List.of("b")),
                new TaskArrival("t1", "d1", "first again", List.of("a")));

        StreamSnapshot snapshot = awaitCompleted(stream, 2);
        assertThat(snapshot.completed()).extracting(c -> c.taskKey()).containsExactly("t1", "t2");
        assertThat(snapshot.completed()).allMatch(c -> c.promoted());
        assertThat(snapshot.pending()).isEmpty();

        ArgumentCaptor<List<String>> adapterSets = ArgumentCaptor.captor();
        ArgumentCaptor<List<EvaluationTask>> taskSets = ArgumentCaptor.captor();
        verify(commands, times(2)).evaluate(eq("s1"), anyString(), adapterSets.capture(), taskSets.capture(), anyList());
        assertThat(taskSets.getAllValues().get(0)).extracting(EvaluationTask::taskKey).containsExactly("t1");
        assertThat(taskSets.getAllValues().get(1)).extracting(EvaluationTask::taskKey).containsExactly("t1", "t2");
        assertThat(adapterSets.getAllValues().get(1)).hasSize(2).contains(snapshot.completed().get(0).adapterId());
        verify(commands, times(2)).train(any());
        verify(state).status("s1", "t2", "PROMOTED", snapshot.completed().get(1).adapterId(),
                "average accuracy 0.800 >= gate 0.000");
    }

    @Test
    void aCandidateBelowTheGateIsRejectedAndDoesNotServe() throws Exception {
        when(state.policy("s2")).thenReturn(policy(0.5));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9, 0.2, 0.7);
        ContinualStreamWorkflow stream = startStream("s2",
                new TaskArrival("t1", "d1", "first", List.of("a")),
                new TaskArrival("t2", "d2", "second", List.of("b")),
                new TaskArrival("t3", "d3", "third", List.of("c")));

        StreamSnapshot snapshot = awaitCompleted(stream, 3);
        assertThat(snapshot.completed()).extracting(c -> c.promoted()).containsExactly(true, false, true);
        verify(commands).changeStatus(eq("s2"), eq(snapshot.completed().get(1).adapterId()), eq("REJECTED"),
                eq("average accuracy 0.200 below gate 0.500"));
        // The rejected adapter is not part of the set evaluated after task 3.
        ArgumentCaptor<List<String>> adapterSets = ArgumentCaptor.captor();
        verify(commands, times(3)).evaluate(eq("s2"), anyString(), adapterSets.capture(), anyList(), anyList());
        assertThat(adapterSets.getAllValues().get(2)).doesNotContain(snapshot.completed().get(1).adapterId()).hasSize(2);
    }

    @Test
    void aCandidateThatFlipsTooManyAnswersIsRejected() throws Exception {
        when(state.policy("s3")).thenReturn(policy(null, 0.0, 0.1));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        flipRates = new double[]{0.0, 0.25};
        stubServices(0.9, 0.9);
        ContinualStreamWorkflow stream = startStream("s3",
                new TaskArrival("t1", "d1", "first", List.of("a")),
                new TaskArrival("t2", "d2", "second", List.of("b")));

        StreamSnapshot snapshot = awaitCompleted(stream, 2);
        assertThat(snapshot.completed()).extracting(c -> c.promoted()).containsExactly(true, false);
        verify(commands).changeStatus(eq("s3"), eq(snapshot.completed().get(1).adapterId()), eq("REJECTED"),
                eq("negative flip rate 0.250 above gate 0.100"));
    }

    private List<ServiceCommandActivities.TrainRequest> trainRequests(int n) {
        ArgumentCaptor<ServiceCommandActivities.TrainRequest> requests = ArgumentCaptor.captor();
        verify(commands, times(n)).train(requests.capture());
        return requests.getAllValues();
    }

    private List<List<String>> evaluatedSets(String streamId, int n, ArgumentCaptor<List<String>> serving) {
        ArgumentCaptor<List<String>> sets = ArgumentCaptor.captor();
        verify(commands, times(n)).evaluate(eq(streamId), anyString(), sets.capture(), anyList(), serving.capture());
        return sets.getAllValues();
    }

    @Test
    void sequentialContinuesFromTheServingAdapterAndSupersedesIt() throws Exception {
        when(state.policy("seq")).thenReturn(policy("sequential", 0.0, null));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9, 0.8);
        StreamSnapshot snapshot = awaitCompleted(startStream("seq",
                new TaskArrival("t1", "d1", "first", List.of("a")), new TaskArrival("t2", "d2", "second", List.of("b"))), 2);
        String first = snapshot.completed().get(0).adapterId(), second = snapshot.completed().get(1).adapterId();
        List<ServiceCommandActivities.TrainRequest> trained = trainRequests(2);
        assertThat(trained.get(0).continual().continueFromAdapterId()).isNull();
        assertThat(trained.get(1).continual().continueFromAdapterId()).isEqualTo(first);
        ArgumentCaptor<List<String>> serving = ArgumentCaptor.captor();
        List<List<String>> sets = evaluatedSets("seq", 2, serving);
        assertThat(sets.get(1)).containsExactly(second);         // one adapter serves, its head covers both tasks
        assertThat(serving.getAllValues().get(1)).containsExactly(first);
        verify(commands).changeStatus("seq", first, "RETIRED", "superseded by " + second);
    }

    @Test
    void hypernetworkWarmStartTrainsFromTheGeneratedAdapter() throws Exception {
        when(state.policy("hyper")).thenReturn(policy("hypernetwork-warm-start", 0.0, null));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9, 0.8);
        when(commands.generate(anyString(), anyString(), anyString(), anyString(), org.mockito.ArgumentMatchers.isNull())).thenAnswer(inv -> {
            String task = inv.getArgument(1);
            return task.equals("t1")
                    ? new io.lamina.contracts.messages.AdapterGenerated("e", 1, Instant.EPOCH, "hyper", "t", null, null, null, null, 0)
                    : new io.lamina.contracts.messages.AdapterGenerated("e", 1, Instant.EPOCH, "hyper", "t", "gen-" + task,
                    "blob-" + task, "generative-adapter", "generator-1", 12.5);
        });
        awaitCompleted(startStream("hyper",
                new TaskArrival("t1", "d1", "first", List.of("a")), new TaskArrival("t2", "d2", "second", List.of("b"))), 2);
        verify(commands).generate("hyper", "t1", "d1", "first", null);
        verify(commands).generate("hyper", "t2", "d2", "second", null);
        verify(commands, org.mockito.Mockito.never()).findNearest(anyString(), anyString());
        List<ServiceCommandActivities.TrainRequest> trained = trainRequests(2);
        assertThat(trained.get(0).warmStartAdapterId()).isNull();          // nothing to generate from yet
        assertThat(trained.get(1).warmStartAdapterId()).isEqualTo("gen-t2");
        assertThat(trained.get(1).warmStartBlobKey()).isEqualTo("blob-t2");
        ArgumentCaptor<ServiceCommandActivities.RegisterRequest> registered = ArgumentCaptor.forClass(ServiceCommandActivities.RegisterRequest.class);
        verify(commands, org.mockito.Mockito.times(2)).register(registered.capture());
        assertThat(registered.getAllValues().get(1).lineage()).contains(new io.lamina.contracts.LineageEdge("gen-t2", io.lamina.contracts.LineageEdge.WARM_STARTED_FROM));
    }

    /** A warm start from another LoRA only where the adapter can take one: no lookup, no lineage claim otherwise. */
    @Test
    void onlyLorasWithPeftsInitAreWarmStartedFromOtherAdapters() throws Exception {
        StreamPolicy lokr = new StreamPolicy(null, new AdapterSettings("lokr", 8, 16, 0.1, List.of("query", "value"), null),
                new TrainingSettings(1, 8, 1e-3, 1, 32, null, null, null, null), true, 0.0, null, null, null, null, null, null, null);
        StreamPolicy pissa = new StreamPolicy(null, new AdapterSettings("lora", 8, 16, 0.1, List.of("query", "value"), null, null, "pissa"),
                new TrainingSettings(1, 8, 1e-3, 1, 32, null, null, null, null), true, 0.0, null, null, null, null, null, null, null);
        StreamPolicy dora = new StreamPolicy(null, new AdapterSettings("dora", 8, 16, 0.1, List.of("query", "value"), null),
                new TrainingSettings(1, 8, 1e-3, 1, 32, null, null, null, null), true, 0.0, null, null, null, null, null, null, null);
        assertThat(lokr.startsFromOtherLoras()).isFalse();
        assertThat(pissa.startsFromOtherLoras()).isFalse();
        assertThat(dora.startsFromOtherLoras()).isTrue();
        when(state.policy("kron")).thenReturn(lokr);
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9);
        awaitCompleted(startStream("kron", new TaskArrival("t1", "d1", "first", List.of("a"))), 1);
        verify(commands, org.mockito.Mockito.never()).findNearest(anyString(), anyString());
        assertThat(trainRequests(1).get(0).warmStartAdapterId()).isNull();
        ArgumentCaptor<ServiceCommandActivities.RegisterRequest> registered = ArgumentCaptor.forClass(ServiceCommandActivities.RegisterRequest.class);
        verify(commands).register(registered.capture());
        assertThat(registered.getValue().lineage()).noneMatch(e -> e.relation().equals(io.lamina.contracts.LineageEdge.WARM_STARTED_FROM));
    }

    @Test
    void aGeneratorTrainingWorkflowAsksTheHypernetworkAndReturnsItsAnswer() {
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        io.lamina.contracts.messages.GeneratorTrained done = new io.lamina.contracts.messages.GeneratorTrained("e", 1, Instant.EPOCH,
                "hypernetwork", "t", "g-1", "icm-lora", 1, 4, 20, 3.0);
        when(commands.trainGenerator("icm-lora", "4 new adapters")).thenReturn(done);
        io.lamina.workflows.generators.GeneratorTrainingWorkflow wf = env.getWorkflowClient().newWorkflowStub(
                io.lamina.workflows.generators.GeneratorTrainingWorkflow.class, WorkflowOptions.newBuilder()
                        .setWorkflowId(io.lamina.workflows.generators.GeneratorTrainingWorkflow.workflowId("icm-lora"))
                        .setTaskQueue(TaskQueues.STREAMS).build());
        assertThat(wf.train("icm-lora", "4 new adapters")).isEqualTo(done);
    }

    @Test
    void moraContinuesFromTheServingAdapterWithItsGate() throws Exception {
        when(state.policy("mora")).thenReturn(policy("mora", 0.0, null));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9, 0.8);
        StreamSnapshot snapshot = awaitCompleted(startStream("mora",
                new TaskArrival("t1", "d1", "first", List.of("a")), new TaskArrival("t2", "d2", "second", List.of("b"))), 2);
        List<ServiceCommandActivities.TrainRequest> trained = trainRequests(2);
        assertThat(trained.get(0).continual().rankGate()).isEqualTo(io.lamina.contracts.RankGateSettings.DEFAULTS);
        assertThat(trained.get(0).continual().continueFromAdapterId()).isNull();
        assertThat(trained.get(1).continual().continueFromAdapterId()).isEqualTo(snapshot.completed().get(0).adapterId());
        verify(commands).changeStatus("mora", snapshot.completed().get(0).adapterId(), "RETIRED",
                "superseded by " + snapshot.completed().get(1).adapterId());
    }

    @Test
    void aTaskThatFailsIsRecordedAndTheStreamGoesOn() throws Exception {
        when(state.policy("f")).thenReturn(policy(0.0));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9);
        doThrow(new IllegalArgumentException("example label 'x' is not among [a]"))
                .when(commands).train(argThat(r -> r != null && r.taskKey().equals("bad")));
        StreamSnapshot snapshot = awaitCompleted(startStream("f",
                new TaskArrival("bad", "d0", "broken", List.of("a")), new TaskArrival("t1", "d1", "first", List.of("a"))), 2);
        assertThat(snapshot.completed().get(0).adapterId()).isNull();
        assertThat(snapshot.completed().get(1).promoted()).isTrue();
        verify(state).status(eq("f"), eq("bad"), eq("FAILED"), isNull(), contains("example label 'x' is not among [a]"));
        ArgumentCaptor<List<EvaluationTask>> seen = ArgumentCaptor.captor();
        verify(commands).evaluate(eq("f"), eq("t1"), anyList(), seen.capture(), anyList());
        assertThat(seen.getValue()).extracting(EvaluationTask::taskKey).containsExactly("t1");
    }

    @Test
    void jointTrainsOnEveryEarlierDatasetAndPerTaskRetrievalAnchorsToEarlierAdapters() throws Exception {
        when(state.policy("joint")).thenReturn(policy("joint", 0.0, null));
        when(state.policy("mos")).thenReturn(policy("per-task-retrieval", 0.0, null));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9, 0.8, 0.9, 0.8);
        awaitCompleted(startStream("joint", new TaskArrival("t1", "d1", "first", List.of("a")),
                new TaskArrival("t2", "d2", "second", List.of("b"))), 2);
        StreamSnapshot mos = awaitCompleted(startStream("mos", new TaskArrival("t1", "d1", "first", List.of("a")),
                new TaskArrival("t2", "d2", "second", List.of("b"))), 2);
        List<ServiceCommandActivities.TrainRequest> trained = trainRequests(4);
        ServiceCommandActivities.TrainRequest joint2 = trained.stream().filter(r -> r.streamId().equals("joint") && r.taskKey().equals("t2")).findFirst().orElseThrow();
        assertThat(joint2.continual().extraDatasetIds()).containsExactly("d1");
        ServiceCommandActivities.TrainRequest mos2 = trained.stream().filter(r -> r.streamId().equals("mos") && r.taskKey().equals("t2")).findFirst().orElseThrow();
        assertThat(mos2.continual().anchorAdapterIds()).containsExactly(mos.completed().get(0).adapterId());
        assertThat(mos2.continual().anchorMomentum()).isEqualTo(0.1);
    }

    @Test
    void mergeAfterTaskGatesTheMergeOfEveryTasksAdapter() throws Exception {
        when(state.policy("merge")).thenReturn(policy("merge-after-task", 0.0, null));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9, 0.8);
        ArgumentCaptor<io.lamina.contracts.MergeRequest> merges = ArgumentCaptor.captor();
        when(commands.merge(eq("merge"), merges.capture())).thenReturn(new io.lamina.contracts.messages.AdaptersMerged(
                "e", 1, Instant.EPOCH, "merge", "t", "m1", "merged-1", "sha256/bb", "b".repeat(64)));
        StreamSnapshot snapshot = awaitCompleted(startStream("merge",
                new TaskArrival("t1", "d1", "first", List.of("a")), new TaskArrival("t2", "d2", "second", List.of("b"))), 2);
        String first = snapshot.completed().get(0).adapterId(), second = snapshot.completed().get(1).adapterId();
        assertThat(merges.getValue().method()).isEqualTo("ties");
        assertThat(merges.getValue().params()).containsEntry("density", 0.5);
        assertThat(merges.getValue().adapters()).extracting(io.lamina.contracts.MergeRequest.WeightedAdapter::id).containsExactly(first, second);
        ArgumentCaptor<List<String>> serving = ArgumentCaptor.captor();
        assertThat(evaluatedSets("merge", 2, serving).get(1)).containsExactly("merged-1");
        assertThat(snapshot.completed().get(1).servedAdapterId()).isEqualTo("merged-1");
        verify(commands).changeStatus("merge", second, "RETIRED", "merged into merged-1");
        verify(commands).changeStatus("merge", first, "RETIRED", "superseded by merged-1");
        verify(state).served("merge", "t2", "merged-1");
    }

    @Test
    void aPausedStreamQueuesArrivalsUntilResumed() throws Exception {
        when(state.policy("p")).thenReturn(policy(0.0));
        when(state.timeouts()).thenReturn(new TaskTimeouts(null, null, null));
        stubServices(0.9);
        ContinualStreamWorkflow stream = startStream("p");
        stream.pause();
        stream.taskArrived(new TaskArrival("t1", "d1", "first", List.of("a")));
        Thread.sleep(300);
        assertThat(stream.state().paused()).isTrue();
        assertThat(stream.state().pending()).hasSize(1);
        assertThat(stream.state().completed()).isEmpty();
        stream.resume();
        assertThat(awaitCompleted(stream, 1).paused()).isFalse();
    }

    @Test
    void policiesNameTheirStrategiesAndRefuseUnknownOnes() {
        assertThat(policy(null, 0, null).strategy()).isEqualTo("per-task-retrieval");
        assertThat(policy("per-task-adapter", 0, null).strategy()).isEqualTo("per-task-retrieval");
        assertThat(policy("SEMA", 0, null).strategy()).isEqualTo("sema");
        assertThat(policy("mora", 0, null).mora().topK()).isEqualTo(16);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> policy("magic", 0, null))
                .hasMessageContaining("available: sequential, per-task-retrieval, merge-after-task, sema, mora, hypernetwork-warm-start, joint");
    }
}

package io.lamina.local;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import io.lamina.engine.data.SupersenseStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Faults on the real embedded platform: a training worker that dies mid-job, and the whole
 * platform restarting mid-stream. Each asserts that no task is lost, none is duplicated, and the
 * final state is correct.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FaultToleranceTest {
    /** A short heartbeat timeout so that a dead worker is noticed within seconds. */
    private static final String[] SETTINGS = {
            // these tests count one adapter per task: the strategy that registers nothing else
            "--lamina.workflows.default-policy.strategy=per-task-retrieval",
            "--lamina.workflows.timeouts.training-heartbeat=PT10S",
            "--lamina.workflows.default-policy.training.epochs=3",
            "--lamina.workflows.default-policy.training.batch-size=8"};

    @TempDir
    static Path home;
    private final StackPorts ports = StackPorts.free();
    private EmbeddedStack stack;
    private StackClient api;

    @BeforeAll
    void start() throws Exception {
        stack = EmbeddedStack.start(home, ports, SETTINGS);
        api = new StackClient(stack.gatewayUrl(), stack.adminKey());
    }

    @AfterAll
    void stop() {
        if (stack != null) stack.close();
    }

    @Test
    @Order(1)
    void aTrainingWorkerThatDiesMidJobIsReplacedAndTheJobResumesFromItsCheckpoint() throws Exception {
        // One task, 4 classes × 40 examples, batch 8, 3 epochs: 60 steps, a checkpoint every 20.
        DemoStream stream = new DemoStream("fault-worker", 1, 4, 40, 6, 5);
        stream.publish(stack.kafkaBrokers());
        api.awaitStream(stream.streamId(), Duration.ofMinutes(3), s -> s.path("tasks").path(0).path("progress").path("step").asInt() >= 24);

        stack.stopService("training-worker");
        stack.startService("training-worker");

        JsonNode done = api.awaitStream(stream.streamId(), Duration.ofMinutes(4), StackClient.finished(1));
        assertThat(done.path("tasks").path(0).path("status").asText()).isEqualTo("PROMOTED");
        JsonNode adapters = api.get("/api/adapters?streamId=" + stream.streamId()).path("items");
        assertThat(adapters).as("exactly one adapter for the task").hasSize(1);
        assertThat(adapters.get(0).path("provenance").path("resumed-at-step").asInt())
                .as("the retried job resumed from a checkpoint").isGreaterThanOrEqualTo(20);
    }

    @Test
    @Order(2)
    void aPlatformRestartedMidStreamFinishesTheStreamWithNothingLostOrDuplicated() throws Exception {
        // 3 tasks of 3 classes × 40 examples, batch 8, 3 epochs: 45 steps each, a checkpoint every 20.
        DemoStream stream = new DemoStream("fault-restart", 3, 3, 40, 6, 9);
        stream.publish(stack.kafkaBrokers());
        api.awaitStream(stream.streamId(), Duration.ofMinutes(3),
                s -> s.path("tasks").size() == 3 && s.path("tasks").path(1).path("progress").path("step").asInt() >= 22);

        // Everything goes down while task 2 trains (the worker first, as in a crash, so the job
        // cannot finish while the other services are being closed).
        stack.stopService("training-worker");
        stack.close();
        stack = EmbeddedStack.start(home, ports, SETTINGS);
        api = new StackClient(stack.gatewayUrl(), stack.adminKey());

        JsonNode done = api.awaitStream(stream.streamId(), Duration.ofMinutes(5), StackClient.finished(3));
        for (JsonNode task : done.path("tasks")) assertThat(task.path("status").asText()).isEqualTo("PROMOTED");
        JsonNode interrupted = api.get("/api/adapters?streamId=" + stream.streamId() + "&size=10").path("items").path(1);
        assertThat(interrupted.path("provenance").path("resumed-at-step").asInt())
                .as("the task interrupted by the restart resumed from its checkpoint").isGreaterThanOrEqualTo(20);
        assertThat(done.path("accuracyMatrix")).hasSize(3);
        assertThat(api.get("/api/datasets?streamId=" + stream.streamId()).path("items")).hasSize(3);
        assertThat(api.get("/api/adapters?streamId=" + stream.streamId()).path("items")).as("one adapter per task").hasSize(3);
        // The stream that finished before the restart is intact.
        assertThat(api.get("/api/adapters?streamId=fault-worker").path("items")).hasSize(1);
        assertThat(api.get("/api/streams/fault-worker").path("tasks").path(0).path("status").asText()).isEqualTo("PROMOTED");
    }

    @Test
    @Order(3)
    void everyEventDeliveredTwiceAndOutOfOrderCreatesNothingTwice() throws Exception {
        DemoStream stream = new DemoStream("fault-duplicates", 3, 2, 16, 4, 13);
        List<SupersenseStream.TaskData> tasks = stream.data();
        // task-3, task-1, task-3, task-2, task-1, task-2: every event twice, not in task order.
        for (int i : new int[]{2, 0, 2, 1, 0, 1}) stream.publish(stack.kafkaBrokers(), tasks.get(i));
        JsonNode done = api.awaitStream(stream.streamId(), Duration.ofMinutes(4), StackClient.finished(3));
        assertThat(done.path("tasks")).hasSize(3);
        assertThat(done.path("tasks")).extracting(t -> t.path("taskKey").asText()).containsExactly("task-3", "task-1", "task-2");
        assertThat(done.path("accuracyMatrix")).hasSize(3);
        assertThat(api.get("/api/datasets?streamId=" + stream.streamId()).path("items")).hasSize(3);
        assertThat(api.get("/api/adapters?streamId=" + stream.streamId()).path("items")).hasSize(3);
        assertThat(api.get("/api/evaluations/" + stream.streamId()).path("rows")).hasSize(3);
    }

    @Test
    @Order(4)
    void aKafkaBrokerRestartDuringAStreamLosesNothing() throws Exception {
        DemoStream stream = new DemoStream("fault-kafka", 2, 3, 40, 6, 17);
        stream.publish(stack.kafkaBrokers());
        api.awaitStream(stream.streamId(), Duration.ofMinutes(3), s -> s.path("tasks").path(0).path("progress").path("step").asInt() >= 5);
        stack.restartKafka(Duration.ofSeconds(3));

        JsonNode done = api.awaitStream(stream.streamId(), Duration.ofMinutes(5), StackClient.finished(2));
        for (JsonNode task : done.path("tasks")) assertThat(task.path("status").asText()).isEqualTo("PROMOTED");
        assertThat(done.path("accuracyMatrix")).hasSize(2);
        assertThat(api.get("/api/adapters?streamId=" + stream.streamId()).path("items")).hasSize(2);
        // Producers and consumers recovered: a new upstream event after the restart is ingested.
        new DemoStream("fault-kafka-after", 1, 2, 8, 2, 19).publish(stack.kafkaBrokers());
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (api.get("/api/datasets?streamId=fault-kafka-after").path("items").isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(250);
        }
        assertThat(api.get("/api/datasets?streamId=fault-kafka-after").path("items")).hasSize(1);
    }
}

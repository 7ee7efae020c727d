package io.lamina.local;

import com.fasterxml.jackson.databind.JsonNode;
import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.DatasetIngested;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.contracts.messages.TrainingProgress;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The load command (not a test): N concurrent streams of 3 small WordNet tasks through the
 * upstream topic on the embedded platform. Prints events/s accepted by ingestion, latency from
 * upstream event to training start (idle worker, then under the burst), tasks/hour, and whether
 * every task completed exactly once.
 *
 * <pre>./mvnw -q -pl infra/local exec:java -Dexec.mainClass=io.lamina.local.LoadBenchmark -Dexec.classpathScope=test [-Dexec.args=20]</pre>
 */
public final class LoadBenchmark {
    public static void main(String[] args) throws Exception {
        int streams = args.length > 0 ? Integer.parseInt(args[0]) : 20;
        Path home = Files.createTempDirectory("lamina-load");
        try (EmbeddedStack stack = EmbeddedStack.start(home, StackPorts.free(),
                "--lamina.workflows.default-policy.strategy=per-task-retrieval",
                "--lamina.workflows.default-policy.training.epochs=1",
                "--lamina.workflows.default-policy.training.batch-size=16")) {
            StackClient api = new StackClient(stack.gatewayUrl(), stack.adminKey());
            Map<String, Long> ingestedAt = new ConcurrentHashMap<>();
            Map<String, Long> trainingStartedAt = new ConcurrentHashMap<>();
            AtomicBoolean running = new AtomicBoolean(true);
            ExecutorService listener = Executors.newSingleThreadExecutor();
            listener.submit(() -> listen(stack.kafkaBrokers(), running, ingestedAt, trainingStartedAt));
            Thread.sleep(2000);

            // 1. Idle worker: one task at a time, latency from publish to the job's first progress event.
            List<Double> idle = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                DemoStream single = new DemoStream("load-idle-" + i, 1, 2, 8, 2, 100 + i);
                long sent = System.currentTimeMillis();
                single.publish(stack.kafkaBrokers());
                api.awaitStream(single.streamId(), Duration.ofMinutes(3), StackClient.finished(1));
                idle.add((trainingStartedAt.get(single.streamId() + "/task-1") - sent) / 1000.0);
            }

            // 2. Burst: every stream's 3 tasks published at once from as many producers.
            Map<String, Long> sentAt = new ConcurrentHashMap<>();
            List<DemoStream> burst = new ArrayList<>();
            for (int s = 0; s < streams; s++) burst.add(new DemoStream("load-" + s, 3, 2, 8, 2, s));
            long start = System.currentTimeMillis();
            ExecutorService producers = Executors.newFixedThreadPool(4);
            for (DemoStream d : burst) {
                producers.submit(() -> {
                    long t = System.currentTimeMillis();
                    d.publish(stack.kafkaBrokers());
                    for (int k = 1; k <= 3; k++) sentAt.put(d.streamId() + "/task-" + k, t);
                    return null;
                });
            }
            producers.shutdown();
            for (DemoStream d : burst) api.awaitStream(d.streamId(), Duration.ofMinutes(60), StackClient.finished(3));
            long end = System.currentTimeMillis();
            running.set(false);
            listener.shutdown();

            int tasks = streams * 3;
            long firstIngest = sentAt.keySet().stream().mapToLong(k -> ingestedAt.getOrDefault(k, Long.MAX_VALUE)).min().orElse(0);
            long lastIngest = sentAt.keySet().stream().mapToLong(k -> ingestedAt.getOrDefault(k, 0L)).max().orElse(0);
            List<Double> burstLatency = new ArrayList<>();
            for (String k : sentAt.keySet()) {
                if (trainingStartedAt.containsKey(k)) burstLatency.add((trainingStartedAt.get(k) - sentAt.get(k)) / 1000.0);
            }
            int adapters = 0;
            int promoted = 0;
            for (DemoStream d : burst) {
                JsonNode items = api.get("/api/adapters?streamId=" + d.streamId()).path("items");
                adapters += items.size();
                for (JsonNode t : api.get("/api/streams/" + d.streamId()).path("tasks")) if (t.path("status").asText().equals("PROMOTED")) promoted++;
            }
            System.out.printf(Locale.ROOT, "%nLamina load: %d streams x 3 tasks on %d cores%n", streams, Runtime.getRuntime().availableProcessors());
            System.out.printf(Locale.ROOT, "idle worker, upstream event -> training start: p50 %.2f s, max %.2f s (5 events)%n",
                    percentile(idle, 50), percentile(idle, 100));
            System.out.printf(Locale.ROOT, "burst: %d events accepted by ingestion in %.2f s = %.1f events/s%n", tasks,
                    (lastIngest - firstIngest) / 1000.0, tasks / Math.max(0.001, (lastIngest - firstIngest) / 1000.0));
            System.out.printf(Locale.ROOT, "burst, upstream event -> training start (queued behind one worker): p50 %.1f s, p99 %.1f s%n",
                    percentile(burstLatency, 50), percentile(burstLatency, 99));
            System.out.printf(Locale.ROOT, "burst: %d tasks in %.1f s = %.0f tasks/hour%n", tasks, (end - start) / 1000.0, tasks * 3600_000.0 / (end - start));
            System.out.printf(Locale.ROOT, "completed: %d/%d tasks promoted, %d adapters registered (%s)%n", promoted, tasks, adapters,
                    promoted == tasks && adapters == tasks ? "none lost, none duplicated" : "MISMATCH");
        }
        System.exit(0);
    }

    private static void listen(String brokers, AtomicBoolean running, Map<String, Long> ingestedAt, Map<String, Long> trainingStartedAt) {
        Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
                ConsumerConfig.GROUP_ID_CONFIG, "load-benchmark", ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "latest");
        try (var consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(Topics.DATASET_EVENTS, Topics.TRAINING_EVENTS));
            while (running.get()) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                    LaminaMessage m = MessageCodec.decode(r.value());
                    if (m instanceof DatasetIngested e) ingestedAt.putIfAbsent(e.streamId() + "/" + e.taskKey(), r.timestamp());
                    if (m instanceof TrainingProgress p) trainingStartedAt.putIfAbsent(p.streamId() + "/" + p.taskKey(), r.timestamp());
                }
            }
        }
    }

    private static double percentile(List<Double> values, int p) {
        if (values.isEmpty()) return Double.NaN;
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }

    private LoadBenchmark() {
    }
}

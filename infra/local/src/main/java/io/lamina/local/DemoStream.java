package io.lamina.local;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.DatasetAnnounced;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.engine.data.SupersenseStream;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The demo's upstream system: it knows nothing of Lamina but the contract, and only publishes
 * {@code DatasetAnnounced} events for the WordNet noun-supersense stream to
 * {@code lamina.upstream.datasets}, as any outside data system would.
 *
 * @param tasks          tasks in the stream (5 classes each by default)
 * @param trainPerClass  train examples per class
 * @param testPerClass   test examples per class
 */
public record DemoStream(String streamId, int tasks, int classesPerTask, int trainPerClass, int testPerClass, long seed) {

    public static DemoStream wordnetSupersenses() {
        return new DemoStream("wordnet-supersenses", 5, 5, 120, 30, 7);
    }

    public List<SupersenseStream.TaskData> data() {
        return SupersenseStream.build(tasks, classesPerTask, trainPerClass, testPerClass, seed);
    }

    /** Publishes every task's dataset; returns the event ids. Deterministic ids make re-publishing harmless. */
    public List<String> publish(String brokers) {
        return publish(brokers, data().toArray(SupersenseStream.TaskData[]::new));
    }

    /** Publishes the given tasks' datasets (e.g. again, or out of order), as the upstream system would. */
    public List<String> publish(String brokers, SupersenseStream.TaskData... tasks) {
        Map<String, Object> config = Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers,
                ProducerConfig.ACKS_CONFIG, "all",
                ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 20 * 1024 * 1024);
        try (var producer = new KafkaProducer<>(config, new StringSerializer(), new ByteArraySerializer())) {
            return java.util.Arrays.stream(tasks).map(task -> {
                String eventId = UUID.nameUUIDFromBytes((streamId + "/" + task.taskKey() + "/" + seed).getBytes(StandardCharsets.UTF_8)).toString();
                DatasetAnnounced event = new DatasetAnnounced(eventId, LaminaMessage.SCHEMA_VERSION, Messages.now(), streamId,
                        task.taskKey(), task.name(), task.description(), task.labels(), task.train(), task.test());
                try {
                    producer.send(new ProducerRecord<>(Topics.UPSTREAM_DATASETS, streamId, MessageCodec.encode(event))).get();
                } catch (Exception e) {
                    throw new IllegalStateException("could not publish " + task.taskKey(), e);
                }
                return eventId;
            }).toList();
        }
    }
}

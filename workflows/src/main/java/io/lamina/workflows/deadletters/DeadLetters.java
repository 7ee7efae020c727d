package io.lamina.workflows.deadletters;

import io.lamina.contracts.Topics;
import io.lamina.support.ConflictException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * Reads the dead-letter topics ({@code <topic>.dlq}, written by Spring Cloud Stream's Kafka binder
 * with the reason in {@code x-exception-message} and the source in {@code x-original-topic}) and
 * re-publishes a dead letter's original key and payload to its original topic, at most once per
 * record: the replay is recorded in {@code dead_letter_replay} in the same transaction that
 * publishes, so a failed publish records nothing and a repeated replay is refused.
 */
@Service
public class DeadLetters implements DisposableBean {
    public static final String SUFFIX = ".dlq";
    public static final int MAX_PAYLOAD_CHARS = 8192;
    public static final int MAX_LIMIT = 1000;
    static final String REASON_HEADER = "x-exception-message";
    static final String ORIGINAL_TOPIC_HEADER = "x-original-topic";
    static final String REPLAYED_FROM_HEADER = "x-lamina-replayed-from";
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final Duration READ_TIMEOUT = Duration.ofSeconds(15);

    private final String brokers;
    private final DeadLetterReplayStore replays;
    private final TransactionTemplate tx;
    private KafkaProducer<byte[], byte[]> producer;

    DeadLetters(@Value("${spring.cloud.stream.kafka.binder.brokers}") String brokers, DeadLetterReplayStore replays,
                TransactionTemplate tx) {
        this.brokers = brokers;
        this.replays = replays;
        this.tx = tx;
    }

    public static String coordinates(String topic, int partition, long offset) {
        return topic + "/" + partition + "@" + offset;
    }

    /** The newest {@code limit} dead letters of {@code topic} (or of every dead-letter topic), newest first. */
    public List<DeadLetter> list(String topic, int limit) {
        if (limit < 1 || limit > MAX_LIMIT) throw new IllegalArgumentException("limit must be in [1, " + MAX_LIMIT + "], not " + limit);
        boolean one = topic != null && !topic.isBlank();
        if (one) checkName(topic);
        List<DeadLetter> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            Map<String, List<PartitionInfo>> all = consumer.listTopics(READ_TIMEOUT);
            List<String> topics;
            if (one) {
                if (!all.containsKey(topic)) throw new NoSuchElementException("no dead-letter topic " + topic);
                topics = List.of(topic);
            } else {
                topics = all.keySet().stream().filter(t -> t.endsWith(SUFFIX)).sorted().toList();
            }
            for (String t : topics) {
                Map<String, Instant> replayed = replays.replays(t);
                for (ConsumerRecord<byte[], byte[]> r : readNewest(consumer, t, all.get(t), limit)) {
                    out.add(view(r, replayed.get(coordinates(t, r.partition(), r.offset()))));
                }
            }
        }
        out.sort(Comparator.comparing(DeadLetter::timestamp, Comparator.nullsLast(Comparator.reverseOrder()))
                .thenComparing(DeadLetter::topic).thenComparing(DeadLetter::offset, Comparator.reverseOrder()));
        return out.size() > limit ? List.copyOf(out.subList(0, limit)) : out;
    }

    /** One dead letter, with whether it was replayed. */
    public DeadLetter get(String topic, int partition, long offset) {
        ConsumerRecord<byte[], byte[]> r = read(topic, partition, offset);
        return view(r, replays.replayedAt(topic, partition, offset).orElse(null));
    }

    /**
     * Re-publishes the dead letter's key and payload to its original topic. 409 when the record was
     * already replayed: a dead letter's payload is immutable, so a second replay could only repeat
     * the same failure or duplicate the same effect.
     */
    public DeadLetter replay(String topic, Integer partition, Long offset) {
        if (topic == null || topic.isBlank()) throw new IllegalArgumentException("topic is required");
        if (partition == null) throw new IllegalArgumentException("partition is required");
        if (offset == null) throw new IllegalArgumentException("offset is required");
        ConsumerRecord<byte[], byte[]> record = read(topic, partition, offset);
        String original = header(record, ORIGINAL_TOPIC_HEADER);
        if (original == null || original.isBlank()) original = topic.substring(0, topic.length() - SUFFIX.length());
        if (!Topics.ALL.contains(original)) {
            throw new IllegalArgumentException("dead letter " + coordinates(topic, partition, offset) + " names original topic '"
                    + original + "', which is not a Lamina topic; it cannot be replayed");
        }
        String target = original;
        String where = coordinates(topic, partition, offset);
        tx.executeWithoutResult(status -> {
            if (!replays.claim(topic, partition, offset, target)) {
                throw new ConflictException("dead letter " + where + " was already replayed to " + target + " at "
                        + replays.replayedAt(topic, partition, offset).map(Instant::toString).orElse("an earlier time")
                        + "; each dead letter is replayed at most once");
            }
            RecordHeaders headers = new RecordHeaders();
            headers.add(REPLAYED_FROM_HEADER, where.getBytes(StandardCharsets.UTF_8));
            try {
                producer().send(new ProducerRecord<>(target, null, record.key(), record.value(), headers)).get(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while replaying " + where, e);
            } catch (ExecutionException | TimeoutException e) {
                throw new IllegalStateException("could not publish " + where + " to " + target + ": " + e, e);
            }
        });
        return view(record, replays.replayedAt(topic, partition, offset).orElse(null));
    }

    private ConsumerRecord<byte[], byte[]> read(String topic, int partition, long offset) {
        checkName(topic);
        if (partition < 0) throw new IllegalArgumentException("partition must be >= 0, not " + partition);
        if (offset < 0) throw new IllegalArgumentException("offset must be >= 0, not " + offset);
        String where = coordinates(topic, partition, offset);
        try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
            List<PartitionInfo> partitions = consumer.listTopics(READ_TIMEOUT).get(topic);
            if (partitions == null) throw new NoSuchElementException("no dead-letter topic " + topic);
            if (partitions.stream().noneMatch(p -> p.partition() == partition)) {
                throw new NoSuchElementException("dead-letter topic " + topic + " has no partition " + partition);
            }
            TopicPartition tp = new TopicPartition(topic, partition);
            consumer.assign(List.of(tp));
            long begin = consumer.beginningOffsets(List.of(tp)).get(tp);
            long end = consumer.endOffsets(List.of(tp)).get(tp);
            if (offset < begin || offset >= end) {
                throw new NoSuchElementException("no dead letter " + where + " (the partition holds offsets " + begin + " to " + (end - 1) + ")");
            }
            consumer.seek(tp, offset);
            long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.offset() == offset) return r;
                    if (r.offset() > offset) throw new NoSuchElementException("no dead letter " + where);
                }
            }
            throw new IllegalStateException("could not read dead letter " + where + " within " + READ_TIMEOUT);
        }
    }

    private static List<ConsumerRecord<byte[], byte[]>> readNewest(KafkaConsumer<byte[], byte[]> consumer, String topic,
                                                                    List<PartitionInfo> partitions, int limit) {
        List<TopicPartition> tps = partitions.stream().map(p -> new TopicPartition(topic, p.partition())).toList();
        consumer.assign(tps);
        Map<TopicPartition, Long> begin = consumer.beginningOffsets(tps);
        Map<TopicPartition, Long> end = consumer.endOffsets(tps);
        Map<TopicPartition, Long> remaining = new HashMap<>();
        for (TopicPartition tp : tps) {
            long from = Math.max(begin.get(tp), end.get(tp) - limit);
            consumer.seek(tp, from);
            if (from < end.get(tp)) remaining.put(tp, end.get(tp));
        }
        List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
        long deadline = System.nanoTime() + READ_TIMEOUT.toNanos();
        while (!remaining.isEmpty() && System.nanoTime() < deadline) {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                TopicPartition tp = new TopicPartition(r.topic(), r.partition());
                Long stop = remaining.get(tp);
                if (stop == null || r.offset() >= stop) continue;
                out.add(r);
                if (r.offset() >= stop - 1) remaining.remove(tp);
            }
            for (TopicPartition tp : List.copyOf(remaining.keySet())) {
                if (consumer.position(tp) >= remaining.get(tp)) remaining.remove(tp);
            }
        }
        return out;
    }

    private static DeadLetter view(ConsumerRecord<byte[], byte[]> r, Instant replayedAt) {
        String original = header(r, ORIGINAL_TOPIC_HEADER);
        if (original == null && r.topic().endsWith(SUFFIX)) original = r.topic().substring(0, r.topic().length() - SUFFIX.length());
        byte[] value = r.value() == null ? new byte[0] : r.value();
        int bytes = Math.min(value.length, MAX_PAYLOAD_CHARS * 4);
        String payload = new String(value, 0, bytes, StandardCharsets.UTF_8);
        boolean truncated = bytes < value.length;
        if (payload.length() > MAX_PAYLOAD_CHARS) {
            payload = payload.substring(0, MAX_PAYLOAD_CHARS);
            truncated = true;
        }
        String key = r.key() == null ? null : new String(r.key(), StandardCharsets.UTF_8);
        Instant timestamp = r.timestamp() >= 0 ? Instant.ofEpochMilli(r.timestamp()) : null;
        return new DeadLetter(r.topic(), r.partition(), r.offset(), key, original, header(r, REASON_HEADER), timestamp,
                payload, value.length, truncated, replayedAt);
    }

    private static String header(ConsumerRecord<?, ?> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static void checkName(String topic) {
        if (!TOPIC.matcher(topic).matches() || !topic.endsWith(SUFFIX) || topic.length() == SUFFIX.length()) {
            throw new IllegalArgumentException("topic '" + abbreviate(topic) + "' is not a dead-letter topic (<topic>" + SUFFIX + ")");
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "…";
    }

    private KafkaConsumer<byte[], byte[]> consumer() {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false);
        config.put(ConsumerConfig.CLIENT_ID_CONFIG, "workflows-dead-letters");
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 200);
        return new KafkaConsumer<>(config, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    private synchronized KafkaProducer<byte[], byte[]> producer() {
        if (producer == null) {
            Map<String, Object> config = new HashMap<>();
            config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, brokers);
            config.put(ProducerConfig.ACKS_CONFIG, "all");
            config.put(ProducerConfig.CLIENT_ID_CONFIG, "workflows-dead-letter-replay");
            config.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 20 * 1024 * 1024);
            producer = new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer());
        }
        return producer;
    }

    @Override
    public synchronized void destroy() {
        if (producer != null) producer.close(Duration.ofSeconds(5));
    }
}

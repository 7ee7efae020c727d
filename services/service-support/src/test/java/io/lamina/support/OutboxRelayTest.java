package io.lamina.support;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.contracts.messages.TrainingProgress;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The outbox and its relay against a real PostgreSQL (embedded). Kafka is replaced by a
 * recording {@link OutboxRelay.Sender} — only the broker edge is faked; the production sender is
 * {@link MessagePublisher#publishEncoded}, a synchronous StreamBridge send.
 */
class OutboxRelayTest {
    private static EmbeddedPostgres postgres;
    private static JdbcTemplate jdbc;
    private static DataSourceTransactionManager transactions;
    private static TransactionTemplate tx;

    /** Kafka's stand-in: every send, in the order sent. */
    private static final class RecordingSender implements OutboxRelay.Sender {
        final List<LaminaMessage> sent = Collections.synchronizedList(new ArrayList<>());
        final List<String> keys = Collections.synchronizedList(new ArrayList<>());
        final AtomicBoolean down = new AtomicBoolean();

        @Override
        public void send(String topic, String key, String type, byte[] payload) {
            if (down.get()) throw new IllegalStateException("broker unavailable");
            LaminaMessage m = MessageCodec.decode(payload);
            assertThat(type).isEqualTo(m.getClass().getSimpleName());
            synchronized (sent) {
                keys.add(key);
                sent.add(m);
            }
            try {
                Thread.sleep(1); // a broker round trip, so that racing relays interleave
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @BeforeAll
    static void startPostgres() throws Exception {
        postgres = EmbeddedPostgres.builder().setPGStartupWait(Duration.ofSeconds(30)).start();
        var ds = postgres.getPostgresDatabase();
        jdbc = new JdbcTemplate(ds);
        transactions = new DataSourceTransactionManager(ds);
        tx = new TransactionTemplate(transactions);
        String ddl = new String(Objects.requireNonNull(OutboxRelayTest.class.getResourceAsStream("/db/outbox/R__outbox.sql"))
                .readAllBytes(), StandardCharsets.UTF_8);
        jdbc.execute(ddl);
    }

    @AfterAll
    static void stopPostgres() throws Exception {
        if (postgres != null) postgres.close();
    }

    @BeforeEach
    void empty() {
        jdbc.update("delete from outbox");
    }

    private static TrainingProgress event(String stream, int step) {
        return new TrainingProgress(UUID.randomUUID().toString(), LaminaMessage.SCHEMA_VERSION, Instant.now(), stream,
                "t", "job", null, step, 0, 0, 0.0, 0.0);
    }

    private static int pending() {
        return jdbc.queryForObject("select count(*) from outbox", Integer.class);
    }

    @Test
    void rolledBackTransactionLeavesNoRowAndPublishesNothing() {
        AtomicBoolean woken = new AtomicBoolean();
        Outbox outbox = new Outbox(jdbc, () -> woken.set(true));
        RecordingSender kafka = new RecordingSender();
        OutboxRelay relay = new OutboxRelay(jdbc, transactions, kafka, Duration.ofMillis(50));

        tx.executeWithoutResult(s -> {
            outbox.enqueue("lamina.test.events", event("s1", 1));
            assertThat(pending()).isEqualTo(1); // visible inside the transaction
            s.setRollbackOnly();
        });
        assertThatThrownBy(() -> tx.executeWithoutResult(s -> {
            outbox.enqueue("lamina.test.events", event("s1", 2));
            throw new IllegalStateException("the state change failed");
        })).isInstanceOf(IllegalStateException.class);

        assertThat(pending()).isZero();
        assertThat(relay.drain()).isZero();
        assertThat(kafka.sent).isEmpty();
        assertThat(woken).isFalse();
        // Outside a transaction the outbox refuses: the row could not commit with a state change.
        assertThatThrownBy(() -> outbox.enqueue("lamina.test.events", event("s1", 3)))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("outside a transaction");
    }

    @Test
    void committedRowsArePublishedExactlyOnceInStreamOrderWhenTwoRelaysRace() throws Exception {
        AtomicBoolean woken = new AtomicBoolean();
        Outbox outbox = new Outbox(jdbc, () -> woken.set(true));
        List<String> streams = java.util.stream.IntStream.range(0, 150).mapToObj(i -> "stream-" + i).toList();
        int perStream = 4;
        for (int step = 0; step < perStream; step++) {
            int s0 = step;
            tx.executeWithoutResult(s -> streams.forEach(st -> outbox.enqueue("lamina.test.events", event(st, s0))));
        }
        assertThat(woken).isTrue(); // afterCommit woke the relay
        assertThat(pending()).isEqualTo(streams.size() * perStream);

        RecordingSender kafka = new RecordingSender();
        OutboxRelay first = new OutboxRelay(jdbc, transactions, kafka, Duration.ofSeconds(60));
        OutboxRelay second = new OutboxRelay(jdbc, transactions, kafka, Duration.ofSeconds(60));
        CountDownLatch go = new CountDownLatch(1);
        var a = CompletableFuture.supplyAsync(() -> await(go, () -> drainUntilEmpty(first)));
        var b = CompletableFuture.supplyAsync(() -> await(go, () -> drainUntilEmpty(second)));
        go.countDown();
        int sentByA = a.get();
        int sentByB = b.get();

        assertThat(sentByA + sentByB).isEqualTo(streams.size() * perStream);
        assertThat(pending()).isZero();
        List<String> ids = kafka.sent.stream().map(LaminaMessage::eventId).toList();
        assertThat(new HashSet<>(ids)).hasSize(ids.size()); // no event twice
        assertStreamOrder(kafka, streams, perStream);
    }

    @Test
    void rowsLeftUnsentArePublishedInOrderAfterTheRelayRestarts() throws Exception {
        Outbox outbox = new Outbox(jdbc, () -> { });
        RecordingSender kafka = new RecordingSender();
        kafka.down.set(true);
        OutboxRelay crashed = new OutboxRelay(jdbc, transactions, kafka, Duration.ofMillis(20));
        crashed.start();
        List<String> streams = List.of("x", "y");
        for (int step = 0; step < 10; step++) {
            int s0 = step;
            tx.executeWithoutResult(s -> streams.forEach(st -> outbox.enqueue("lamina.test.events", event(st, s0))));
        }
        Thread.sleep(200); // it polls, every send fails: nothing is marked sent
        crashed.stop();
        assertThat(pending()).isEqualTo(20);
        assertThat(kafka.sent).isEmpty();

        kafka.down.set(false);
        OutboxRelay restarted = new OutboxRelay(jdbc, transactions, kafka, Duration.ofMillis(20));
        restarted.start(); // no wake-up: the poll alone must find the rows
        try {
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (pending() > 0 && System.nanoTime() < deadline) Thread.sleep(20);
        } finally {
            restarted.stop();
        }
        assertThat(pending()).isZero();
        assertThat(kafka.sent).hasSize(20);
        assertStreamOrder(kafka, streams, 10);
    }

    private static void assertStreamOrder(RecordingSender kafka, List<String> streams, int perStream) {
        Map<String, List<Integer>> steps = new LinkedHashMap<>();
        synchronized (kafka.sent) {
            for (int i = 0; i < kafka.sent.size(); i++) {
                TrainingProgress p = (TrainingProgress) kafka.sent.get(i);
                assertThat(kafka.keys.get(i)).isEqualTo(p.streamId());
                steps.computeIfAbsent(p.streamId(), k -> new ArrayList<>()).add(p.step());
            }
        }
        List<Integer> expected = java.util.stream.IntStream.range(0, perStream).boxed().toList();
        for (String s : streams) assertThat(steps.get(s)).as("stream " + s).isEqualTo(expected);
    }

    /** A relay finding nothing unlocked stops; keep it going while the other still holds rows. */
    private static int drainUntilEmpty(OutboxRelay relay) {
        int n = 0;
        while (pending() > 0) n += relay.drain();
        return n;
    }

    private static <T> T await(CountDownLatch go, java.util.function.Supplier<T> body) {
        try {
            go.await();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
        return body.get();
    }
}

package io.lamina.support;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Publishes the rows of the service's {@code outbox} table to Kafka and deletes each row only
 * once Kafka acknowledged it (a crash in between publishes it again: at least once).
 *
 * <p>Runs on one thread per service instance, woken right after a transaction that enqueued
 * something commits and every {@code pollInterval} (which picks up rows left by a crash or a
 * failed send). Several instances may relay concurrently: each batch takes, with
 * {@code for update skip locked}, only the <em>oldest</em> pending row of each (topic, stream),
 * so a stream's next row becomes eligible only once its predecessor is sent and deleted — the
 * order within a stream is kept even across instances, and a row is published by one relay.
 */
public class OutboxRelay implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(OutboxRelay.class);
    private static final int BATCH = 100;

    /** The Kafka edge: returns only once the broker acknowledged the record; throws otherwise. */
    @FunctionalInterface
    public interface Sender {
        void send(String topic, String key, String type, byte[] payload);
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final Sender sender;
    private final Duration pollInterval;
    private final AtomicBoolean wakePending = new AtomicBoolean();
    private volatile ScheduledExecutorService executor;

    public OutboxRelay(JdbcTemplate jdbc, PlatformTransactionManager transactions, Sender sender, Duration pollInterval) {
        this.jdbc = jdbc;
        this.tx = new TransactionTemplate(transactions);
        this.sender = sender;
        this.pollInterval = pollInterval;
    }

    private record Row(long id, String topic, String key, String type, byte[] payload) {
    }

    /**
     * Publishes pending rows until none is left (or a send fails); returns how many were sent.
     * Safe to call from several threads or instances; the relay's own thread calls it.
     */
    public int drain() {
        int total = 0;
        while (true) {
            Integer sent = tx.execute(status -> relayBatch());
            if (sent == null || sent <= 0) return total;
            total += sent;
        }
    }

    /** One transaction: lock the head row of each stream, send them in id order, delete the sent ones. */
    private int relayBatch() {
        List<Row> rows = jdbc.query("""
                select o.id, o.topic, o.msg_key, o.type, o.payload from outbox o
                where not exists (select 1 from outbox p where p.topic = o.topic and p.msg_key = o.msg_key and p.id < o.id)
                order by o.id limit ? for update skip locked""",
                (rs, n) -> new Row(rs.getLong(1), rs.getString(2), rs.getString(3), rs.getString(4), rs.getBytes(5)), BATCH);
        List<Long> sent = new ArrayList<>();
        RuntimeException failure = null;
        for (Row row : rows) {
            try {
                sender.send(row.topic(), row.key(), row.type(), row.payload());
                sent.add(row.id());
            } catch (RuntimeException e) {
                failure = e;
                break;
            }
        }
        if (!sent.isEmpty()) {
            jdbc.batchUpdate("delete from outbox where id = ?", sent.stream().map(id -> new Object[]{id}).toList());
        }
        if (failure != null) {
            log.warn("outbox relay: publishing failed after {} of {} rows, retrying later: {}", sent.size(), rows.size(),
                    failure.toString());
            return -1;
        }
        return sent.size();
    }

    /** Asks the relay thread to drain soon (called after a commit that enqueued rows). */
    public void wake() {
        ScheduledExecutorService e = executor;
        if (e != null && wakePending.compareAndSet(false, true)) {
            try {
                e.execute(this::runOnce);
            } catch (RuntimeException rejected) {
                wakePending.set(false);
            }
        }
    }

    private void runOnce() {
        wakePending.set(false);
        try {
            drain();
        } catch (RuntimeException e) {
            log.warn("outbox relay: {}", e.toString());
        }
    }

    @Override
    public synchronized void start() {
        if (executor != null) return;
        ScheduledExecutorService e = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "outbox-relay");
            t.setDaemon(true);
            return t;
        });
        e.scheduleWithFixedDelay(this::runOnce, 0, pollInterval.toMillis(), TimeUnit.MILLISECONDS);
        executor = e;
    }

    @Override
    public synchronized void stop() {
        ScheduledExecutorService e = executor;
        executor = null;
        if (e == null) return;
        e.shutdownNow();
        try {
            e.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public boolean isRunning() {
        return executor != null;
    }
}

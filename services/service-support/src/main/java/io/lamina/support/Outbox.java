package io.lamina.support;

import io.lamina.contracts.MessageCodec;
import io.lamina.contracts.messages.LaminaMessage;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;

/**
 * Transactional outbox: an event is written to the service's own {@code outbox} table in the
 * transaction of the state change it announces, so the change and its announcement commit (or
 * roll back) together. The {@link OutboxRelay} publishes committed rows to Kafka afterwards
 * (at least once; consumers dedup by event id). The table comes from each service's migration
 * (see {@code db/outbox/R__outbox.sql} in service-support for the shared definition).
 */
public class Outbox {
    private final JdbcTemplate jdbc;
    private final Runnable onCommit;

    /** @param onCommit run after a transaction that enqueued something commits (wakes the relay) */
    public Outbox(JdbcTemplate jdbc, Runnable onCommit) {
        this.jdbc = jdbc;
        this.onCommit = onCommit;
    }

    /** Enqueues the message for {@code topic}, keyed by its stream id. Must run inside the caller's transaction. */
    public void enqueue(String topic, LaminaMessage message) {
        if (!TransactionSynchronizationManager.isActualTransactionActive()) {
            throw new IllegalStateException("Outbox.enqueue of a " + message.getClass().getSimpleName()
                    + " outside a transaction: it must commit with the state change it announces");
        }
        jdbc.update("insert into outbox(topic, msg_key, type, event_id, payload) values (?, ?, ?, ?, ?)",
                topic, message.streamId(), message.getClass().getSimpleName(), message.eventId(), MessageCodec.encode(message));
        if (TransactionSynchronizationManager.isSynchronizationActive()) {
            TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
                @Override
                public void afterCommit() {
                    onCommit.run();
                }
            });
        }
    }
}

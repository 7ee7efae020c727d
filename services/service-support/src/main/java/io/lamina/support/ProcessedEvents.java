package io.lamina.support;

import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Idempotent consumers: a service records each consumed event id in its own
 * {@code processed_event} table inside the transaction of the effect, so a re-delivered event is
 * recognised and its effect is not applied twice.
 */
public class ProcessedEvents {
    private final JdbcTemplate jdbc;

    public ProcessedEvents(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** Records the event; false when it had already been processed. Call inside the effect's transaction. */
    public boolean markProcessed(String eventId) {
        return jdbc.update("insert into processed_event(event_id) values (?) on conflict do nothing", eventId) == 1;
    }

    /** Whether the event was already processed (a committed effect). */
    public boolean isProcessed(String eventId) {
        Integer n = jdbc.queryForObject("select count(*) from processed_event where event_id = ?", Integer.class, eventId);
        return n != null && n > 0;
    }
}

package io.lamina.workflows.deadletters;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/** Which dead letters were replayed ({@code workflows.dead_letter_replay}). */
@Repository
class DeadLetterReplayStore {
    private final JdbcTemplate jdbc;

    DeadLetterReplayStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** Records a replay; false when this record was already replayed (or is being replayed). */
    boolean claim(String topic, int partition, long offset, String originalTopic) {
        return jdbc.update("""
                insert into dead_letter_replay (dlq_topic, dlq_partition, dlq_offset, original_topic)
                values (?, ?, ?, ?) on conflict do nothing""", topic, partition, offset, originalTopic) == 1;
    }

    Optional<Instant> replayedAt(String topic, int partition, long offset) {
        return jdbc.query("select replayed_at from dead_letter_replay where dlq_topic = ? and dlq_partition = ? and dlq_offset = ?",
                (rs, i) -> rs.getTimestamp(1).toInstant(), topic, partition, offset).stream().findFirst();
    }

    /** "topic/partition@offset" → replayed at, of the given topic. */
    Map<String, Instant> replays(String topic) {
        Map<String, Instant> out = new HashMap<>();
        jdbc.query("select dlq_partition, dlq_offset, replayed_at from dead_letter_replay where dlq_topic = ?",
                rs -> {
                    Timestamp at = rs.getTimestamp(3);
                    out.put(DeadLetters.coordinates(topic, rs.getInt(1), rs.getLong(2)), at.toInstant());
                }, topic);
        return out;
    }
}

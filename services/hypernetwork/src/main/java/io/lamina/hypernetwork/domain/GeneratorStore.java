package io.lamina.hypernetwork.domain;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Repository;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** Generator versions and the adapters generated with them. */
@Repository
public class GeneratorStore {
    private final JdbcTemplate jdbc;

    GeneratorStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** One version of a generator, with what it learned from. */
    public record GeneratorVersion(String generatorId, String method, int version, String blobKey, String sha256,
                                   int trainingAdapters, int samples, long parameters, double seconds, double finalLoss,
                                   List<String> trainedOn, String reason, Instant createdAt) {
    }

    /** An adapter this service generated. */
    public record GeneratedAdapter(String adapterId, String generatorId, String method, String streamId, String taskKey,
                                   double generationMillis, Double accuracy, Integer testExamples, Instant createdAt) {
    }

    private static final RowMapper<GeneratorVersion> VERSION = (rs, n) -> new GeneratorVersion(rs.getString("generator_id"),
            rs.getString("method"), rs.getInt("version"), rs.getString("blob_key"), rs.getString("sha256"),
            rs.getInt("training_adapters"), rs.getInt("samples"), rs.getLong("parameters"), rs.getDouble("seconds"),
            rs.getObject("final_loss") == null ? Double.NaN : rs.getDouble("final_loss"), rs.getString("trained_on").isEmpty() ? List.of() : List.of(rs.getString("trained_on").split(",")),
            rs.getString("reason"), rs.getTimestamp("created_at").toInstant());

    private static final RowMapper<GeneratedAdapter> GENERATED = (rs, n) -> new GeneratedAdapter(rs.getString("adapter_id"),
            rs.getString("generator_id"), rs.getString("method"), rs.getString("stream_id"), rs.getString("task_key"),
            rs.getDouble("generation_millis"), (Double) rs.getObject("accuracy"), (Integer) rs.getObject("test_examples"),
            rs.getTimestamp("created_at").toInstant());

    public Optional<GeneratorVersion> latest(String method) {
        return jdbc.query("select * from generators where method = ? order by version desc limit 1", VERSION, method).stream().findFirst();
    }

    public List<GeneratorVersion> versions() {
        return jdbc.query("select * from generators order by created_at desc, method", VERSION);
    }

    public Optional<GeneratorVersion> get(String generatorId) {
        return jdbc.query("select * from generators where generator_id = ?", VERSION, generatorId).stream().findFirst();
    }

    public int nextVersion(String method) {
        Integer v = jdbc.queryForObject("select coalesce(max(version), 0) + 1 from generators where method = ?", Integer.class, method);
        return v == null ? 1 : v;
    }

    /** @param loraSpecJson the LoRA spec an ICM-LoRA generator produces (null for GenerativeAdapter, whose spec is in its file) */
    public void insert(GeneratorVersion g, String loraSpecJson) {
        jdbc.update("""
                insert into generators(generator_id, method, version, blob_key, sha256, training_adapters, samples, parameters,
                                       seconds, final_loss, trained_on, reason, lora_spec) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                g.generatorId(), g.method(), g.version(), g.blobKey(), g.sha256(), g.trainingAdapters(), g.samples(), g.parameters(),
                g.seconds(), Double.isFinite(g.finalLoss()) ? g.finalLoss() : null, String.join(",", g.trainedOn()), g.reason(), loraSpecJson);
    }

    public String loraSpec(String generatorId) {
        return jdbc.queryForObject("select lora_spec from generators where generator_id = ?", String.class, generatorId);
    }

    public void recordGenerated(GeneratedAdapter a) {
        jdbc.update("""
                insert into generated_adapters(adapter_id, generator_id, method, stream_id, task_key, generation_millis, accuracy, test_examples)
                values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (adapter_id) do nothing""",
                a.adapterId(), a.generatorId(), a.method(), a.streamId(), a.taskKey(), a.generationMillis(), a.accuracy(), a.testExamples());
    }

    public List<GeneratedAdapter> generated(int limit) {
        return jdbc.query("select * from generated_adapters order by created_at desc limit ?", GENERATED, limit);
    }

    /** Indexed trained adapters (not generated here, not merges or imports), registered after {@code since} (all when null). */
    public int newTrainingAdapters(Instant since) {
        Integer n = jdbc.queryForObject("""
                select count(*) from adapter_index i
                where i.trained and not exists (select 1 from generated_adapters g where g.adapter_id = i.adapter_id)
                  and (?::timestamptz is null or i.indexed_at > ?::timestamptz)""", Integer.class,
                since == null ? null : java.sql.Timestamp.from(since), since == null ? null : java.sql.Timestamp.from(since));
        return n == null ? 0 : n;
    }

    /** Blob keys of indexed adapters this service did not generate, oldest first. */
    public List<String[]> trainingCandidates() {
        return jdbc.query("""
                select i.adapter_id, i.blob_key, i.description from adapter_index i
                where not exists (select 1 from generated_adapters g where g.adapter_id = i.adapter_id)
                order by i.indexed_at""", (rs, n) -> new String[]{rs.getString(1), rs.getString(2), rs.getString(3)});
    }
}

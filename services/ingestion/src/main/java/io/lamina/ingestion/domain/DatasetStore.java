package io.lamina.ingestion.domain;

import com.fasterxml.jackson.core.type.TypeReference;
import io.lamina.contracts.Json;
import io.lamina.contracts.LabeledText;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Repository;

import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;

/** The dataset tables of the ingestion schema. Datasets are immutable once written. */
@Repository
public class DatasetStore {
    private final JdbcTemplate jdbc;

    DatasetStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public Optional<StoredDataset> findByTask(String streamId, String taskKey) {
        return jdbc.query("select * from dataset where stream_id = ? and task_key = ?", header(), streamId, taskKey)
                .stream().findFirst();
    }

    public Optional<StoredDataset> find(UUID id, boolean withRecords) {
        Optional<StoredDataset> found = jdbc.query("select * from dataset where id = ?", header(), id).stream().findFirst();
        if (found.isEmpty() || !withRecords) return found;
        StoredDataset d = found.get();
        return Optional.of(new StoredDataset(d.datasetId(), d.streamId(), d.taskKey(), d.name(), d.description(),
                d.labels(), d.sha256(), d.trainSize(), d.testSize(), d.createdAt(), records(id, "train"), records(id, "test")));
    }

    /**
     * Datasets in the order they came, optionally of one stream, and optionally only those where {@code text}
     * is a part (ignoring case) of the stream id, task key or name.
     */
    public List<StoredDataset> list(String streamId, String text, int offset, int limit) {
        List<Object> args = new ArrayList<>();
        String where = where(streamId, text, args);
        args.add(offset);
        args.add(limit);
        return jdbc.query("select * from dataset" + where + " order by created_at, stream_id, task_key offset ? limit ?", header(), args.toArray());
    }

    public long count(String streamId, String text) {
        List<Object> args = new ArrayList<>();
        Long n = jdbc.queryForObject("select count(*) from dataset" + where(streamId, text, args), Long.class, args.toArray());
        return n == null ? 0 : n;
    }

    private static String where(String streamId, String text, List<Object> args) {
        StringBuilder sql = new StringBuilder(" where true");
        if (streamId != null) {
            sql.append(" and stream_id = ?");
            args.add(streamId);
        }
        if (text != null && !text.isBlank()) {
            String like = "%" + text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%";
            sql.append(" and (stream_id ilike ? or task_key ilike ? or name ilike ?)");
            args.addAll(List.of(like, like, like));
        }
        return sql.toString();
    }

    /** How many records each label has in each split, in the dataset's label order. */
    public record LabelCount(String label, int train, int test) {
    }

    public List<LabelCount> labelCounts(StoredDataset dataset) {
        java.util.Map<String, int[]> counts = new java.util.LinkedHashMap<>();
        dataset.labels().forEach(l -> counts.put(l, new int[2]));
        jdbc.query("select label, split, count(*) from dataset_record where dataset_id = ?::uuid group by label, split", rs -> {
            counts.computeIfAbsent(rs.getString(1), k -> new int[2])[rs.getString(2).equals("train") ? 0 : 1] = rs.getInt(3);
        }, dataset.datasetId());
        return counts.entrySet().stream().map(e -> new LabelCount(e.getKey(), e.getValue()[0], e.getValue()[1])).toList();
    }

    public void insert(UUID id, DatasetSubmission s, String sha256, String sourceEventId) {
        jdbc.update("""
                insert into dataset(id, stream_id, task_key, name, description, labels, sha256, train_size, test_size, source_event_id)
                values (?, ?, ?, ?, ?, ?::jsonb, ?, ?, ?, ?)""",
                id, s.streamId(), s.taskKey(), s.name(), s.description() == null ? "" : s.description(),
                Json.write(s.labels()), sha256, s.train().size(), s.test().size(), sourceEventId);
        insertRecords(id, "train", s.train());
        insertRecords(id, "test", s.test());
    }

    private void insertRecords(UUID id, String split, List<LabeledText> records) {
        List<Object[]> rows = new ArrayList<>(records.size());
        for (int i = 0; i < records.size(); i++) {
            rows.add(new Object[]{id, split, i, records.get(i).text(), records.get(i).label()});
        }
        jdbc.batchUpdate("insert into dataset_record(dataset_id, split, ordinal, text, label) values (?, ?, ?, ?, ?)", rows);
    }

    private List<LabeledText> records(UUID id, String split) {
        return jdbc.query("select text, label from dataset_record where dataset_id = ? and split = ? order by ordinal",
                (rs, n) -> new LabeledText(rs.getString(1), rs.getString(2)), id, split);
    }

    private static RowMapper<StoredDataset> header() {
        return (rs, n) -> new StoredDataset(rs.getString("id"), rs.getString("stream_id"), rs.getString("task_key"),
                rs.getString("name"), rs.getString("description"), Json.read(rs.getString("labels"), new TypeReference<List<String>>() { }), rs.getString("sha256"),
                rs.getInt("train_size"), rs.getInt("test_size"), rs.getObject("created_at", Timestamp.class).toInstant(),
                List.of(), List.of());
    }


}

package io.lamina.workflows.state;

import com.fasterxml.jackson.core.type.TypeReference;
import io.lamina.contracts.Json;
import io.lamina.contracts.messages.DatasetIngested;
import io.lamina.contracts.messages.EvaluationCompleted;
import io.lamina.workflows.config.WorkflowsProperties;
import io.lamina.workflows.stream.CompletedTask;
import io.lamina.workflows.stream.StreamPolicy;
import io.lamina.workflows.stream.TaskArrival;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Repository;
import org.springframework.transaction.support.TransactionTemplate;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Streams and their tasks in the workflows schema: what the dashboard and API read. */
@Repository
public class StreamStore {
    /** Statuses after which a task needs no more work. */
    public static final Set<String> FINAL = Set.of("PROMOTED", "REJECTED", "FAILED");

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final StreamPolicy defaultPolicy;

    StreamStore(JdbcTemplate jdbc, TransactionTemplate tx, WorkflowsProperties properties) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.defaultPolicy = properties.defaultPolicy();
    }

    public record Progress(Integer step, Integer totalSteps, Double loss, Double examplesPerSecond) {
    }

    /** @param compatibility negative flip rate, forward transfer, trainable parameters and per-class accuracy after this task */
    public record TaskView(String taskKey, int position, String datasetId, String description, List<String> labels,
                           String status, String statusReason, String adapterId, String servedAdapterId, List<Double> accuracyRow,
                           Compatibility compatibility, Progress progress, Instant updatedAt) {
    }

    public record Compatibility(Double negativeFlipRate, Double forwardTransfer, Long trainableParameters,
                                Map<String, Double> perClassAccuracy) {
    }

    public record Metrics(Double averageAccuracy, Double averageForgetting, Double backwardTransfer) {
    }

    public record StreamView(String streamId, StreamPolicy policy, boolean paused, List<TaskView> tasks, List<List<Double>> accuracyMatrix,
                             Metrics metrics, Instant updatedAt) {
    }

    /** Records a newly ingested dataset as the stream's next task; false if the task was known. */
    public boolean registerArrival(DatasetIngested e) {
        Boolean added = tx.execute(s -> {
            jdbc.update("insert into stream(stream_id) values (?) on conflict do nothing", e.streamId());
            jdbc.query("select 1 from stream where stream_id = ? for update", rs -> null, e.streamId());
            return jdbc.update("""
                    insert into stream_task(stream_id, task_key, position, dataset_id, description, labels, status)
                    values (?, ?, (select coalesce(max(position), -1) + 1 from stream_task where stream_id = ?), ?, ?, ?::jsonb, 'QUEUED')
                    on conflict (stream_id, task_key) do nothing""",
                    e.streamId(), e.taskKey(), e.streamId(), e.datasetId(),
                    e.description() == null || e.description().isBlank() ? e.name() : e.description(), Json.write(e.labels())) == 1;
        });
        return Boolean.TRUE.equals(added);
    }

    public StreamPolicy policy(String streamId) {
        return jdbc.query("select policy from stream where stream_id = ? and policy is not null",
                (rs, n) -> Json.read(rs.getString(1), new TypeReference<StreamPolicy>() { }), streamId)
                .stream().findFirst().orElse(defaultPolicy);
    }

    public StreamPolicy defaultPolicy() {
        return defaultPolicy;
    }

    /** Creates a stream with its policy; {@code false} when it exists already (nothing changes). */
    public boolean create(String streamId, StreamPolicy policy) {
        return jdbc.update("insert into stream(stream_id, policy) values (?, ?::jsonb) on conflict do nothing",
                streamId, Json.write(policy)) == 1;
    }

    public void setPolicy(String streamId, StreamPolicy policy) {
        jdbc.update("""
                insert into stream(stream_id, policy) values (?, ?::jsonb)
                on conflict (stream_id) do update set policy = excluded.policy, updated_at = now()""", streamId, Json.write(policy));
    }

    public void updateStatus(String streamId, String taskKey, String status, String adapterId, String reason) {
        jdbc.update("""
                update stream_task set status = ?, adapter_id = coalesce(?, adapter_id), status_reason = ?, updated_at = now()
                where stream_id = ? and task_key = ?""", status, adapterId, reason, streamId, taskKey);
    }

    public void recordProgress(String streamId, String taskKey, int step, int totalSteps, double loss, double examplesPerSecond) {
        jdbc.update("""
                update stream_task set step = ?, total_steps = ?, loss = ?, examples_per_second = ?, updated_at = now()
                where stream_id = ? and task_key = ?""", step, totalSteps, Double.isFinite(loss) ? loss : null,
                examplesPerSecond, streamId, taskKey);
    }

    public boolean isPaused(String streamId) {
        return jdbc.query("select paused from stream where stream_id = ?", (rs, n) -> rs.getBoolean(1), streamId)
                .stream().findFirst().orElse(false);
    }

    public void setPaused(String streamId, boolean paused) {
        int updated = jdbc.update("update stream set paused = ?, updated_at = now() where stream_id = ?", paused, streamId);
        if (updated == 0) throw new java.util.NoSuchElementException("no stream " + streamId);
    }

    public void recordServed(String streamId, String taskKey, String servedAdapterId) {
        jdbc.update("update stream_task set served_adapter_id = ?, updated_at = now() where stream_id = ? and task_key = ?",
                servedAdapterId, streamId, taskKey);
    }

    public void recordEvaluation(String streamId, String taskKey, EvaluationCompleted e) {
        tx.executeWithoutResult(s -> {
            jdbc.update("""
                    update stream_task set accuracy_row = ?::jsonb, negative_flip_rate = ?, forward_transfer = ?,
                                           trainable_parameters = ?, per_class_accuracy = ?::jsonb, updated_at = now()
                    where stream_id = ? and task_key = ?""",
                    Json.write(e.accuracyRow()), e.negativeFlipRate(), e.forwardTransfer(), e.trainableParameters(),
                    Json.write(e.perClassAccuracy() == null ? Map.of() : e.perClassAccuracy()), streamId, taskKey);
            jdbc.update("""
                    update stream set average_accuracy = ?, average_forgetting = ?, backward_transfer = ?, updated_at = now()
                    where stream_id = ?""", e.averageAccuracy(), e.averageForgetting(), e.backwardTransfer(), streamId);
        });
    }

    public List<String> streamIds() {
        return jdbc.queryForList("select stream_id from stream order by created_at, stream_id", String.class);
    }

    public Optional<StreamView> find(String streamId) {
        var header = jdbc.query("select * from stream where stream_id = ?", (rs, n) -> new Object[]{
                new Metrics(nullable(rs.getDouble("average_accuracy"), rs.wasNull()),
                        nullable(rs.getDouble("average_forgetting"), rs.wasNull()),
                        nullable(rs.getDouble("backward_transfer"), rs.wasNull())),
                rs.getObject("updated_at", Timestamp.class).toInstant(), rs.getBoolean("paused")}, streamId);
        if (header.isEmpty()) return Optional.empty();
        List<TaskView> tasks = tasks(streamId);
        int n = tasks.size();
        List<List<Double>> matrix = new ArrayList<>();
        for (TaskView t : tasks) {
            if (t.accuracyRow() == null) continue; // not evaluated (yet, or failed)
            List<Double> row = new ArrayList<>(t.accuracyRow());
            while (row.size() < n) row.add(null);
            matrix.add(row);
        }
        return Optional.of(new StreamView(streamId, policy(streamId), (Boolean) header.get(0)[2], tasks, matrix, (Metrics) header.get(0)[0],
                (Instant) header.get(0)[1]));
    }

    public List<TaskView> tasks(String streamId) {
        return jdbc.query("select * from stream_task where stream_id = ? order by position", (rs, i) -> new TaskView(
                rs.getString("task_key"), rs.getInt("position"), rs.getString("dataset_id"), rs.getString("description"),
                Json.read(rs.getString("labels"), new TypeReference<List<String>>() { }), rs.getString("status"),
                rs.getString("status_reason"), rs.getString("adapter_id"), rs.getString("served_adapter_id"),
                rs.getString("accuracy_row") == null ? null : Json.read(rs.getString("accuracy_row"), new TypeReference<List<Double>>() { }),
                new Compatibility((Double) rs.getObject("negative_flip_rate"), (Double) rs.getObject("forward_transfer"),
                        (Long) rs.getObject("trainable_parameters"), rs.getString("per_class_accuracy") == null ? null
                        : Json.read(rs.getString("per_class_accuracy"), new TypeReference<Map<String, Double>>() { })),
                new Progress((Integer) rs.getObject("step"), (Integer) rs.getObject("total_steps"),
                        (Double) rs.getObject("loss"), (Double) rs.getObject("examples_per_second")),
                rs.getObject("updated_at", Timestamp.class).toInstant()), streamId);
    }

    /** The tasks of a stream that are done and have an adapter, in stream order. */
    public List<CompletedTask> completed(String streamId) {
        return tasks(streamId).stream().filter(t -> FINAL.contains(t.status()) && t.adapterId() != null)
                .map(t -> new CompletedTask(t.taskKey(), t.datasetId(), t.adapterId(), t.status().equals("PROMOTED"), t.servedAdapterId()))
                .toList();
    }

    public boolean isFinished(String streamId, String taskKey) {
        return tasks(streamId).stream().anyMatch(t -> t.taskKey().equals(taskKey) && FINAL.contains(t.status()));
    }

    /** The arrivals of a stream's tasks, in order (for re-driving a stream after a restart). */
    public static TaskArrival arrival(TaskView t) {
        return new TaskArrival(t.taskKey(), t.datasetId(), t.description(), t.labels());
    }

    private static Double nullable(double value, boolean wasNull) {
        return wasNull ? null : value;
    }



}

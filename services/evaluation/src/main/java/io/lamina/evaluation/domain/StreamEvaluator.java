package io.lamina.evaluation.domain;

import com.fasterxml.jackson.core.type.TypeReference;
import io.lamina.contracts.EvaluationTask;
import io.lamina.contracts.Json;
import io.lamina.contracts.Messages;
import io.lamina.contracts.Topics;
import io.lamina.contracts.messages.EvaluateStream;
import io.lamina.contracts.messages.EvaluationCompleted;
import io.lamina.contracts.messages.LaminaMessage;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.metrics.ContinualMetrics;
import io.lamina.support.AdapterLoader;
import io.lamina.support.Outbox;
import io.lamina.support.ProcessedEvents;
import io.lamina.support.ServiceClients;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;

import java.util.ArrayList;
import java.util.List;

/**
 * Fills one row of a stream's accuracy matrix: the adapter set is scored task-agnostically
 * (the router picks the adapter for each input, no task id) on the test split of every task
 * seen so far, and the continual-learning metrics are recomputed from the stored rows.
 */
@Service
public class StreamEvaluator {
    private final TestSplitScorer scorer;
    private final AdapterLoader adapters;
    private final ServiceClients clients;
    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final Outbox outbox;
    private final ProcessedEvents processed;

    StreamEvaluator(TestSplitScorer scorer, AdapterLoader adapters, ServiceClients clients, JdbcTemplate jdbc,
                    TransactionTemplate tx, Outbox outbox, ProcessedEvents processed) {
        this.scorer = scorer;
        this.adapters = adapters;
        this.clients = clients;
        this.jdbc = jdbc;
        this.tx = tx;
        this.outbox = outbox;
        this.processed = processed;
    }

    public record Row(int taskIndex, List<Double> accuracies, ContinualMetrics.Result metrics) {
    }

    public record Matrix(String streamId, List<String> taskKeys, List<List<Double>> rows, List<Double> averageAccuracy,
                         List<Double> averageForgetting, List<Double> backwardTransfer) {
    }

    /**
     * Evaluates and stores the row; {@code EvaluationCompleted} goes to the outbox and the
     * command's event id is recorded as processed, all in the transaction of the row's upsert. A
     * re-delivered command (already processed) is not evaluated again: the stored row is announced.
     */
    public void evaluate(EvaluateStream command) {
        if (command.eventId() != null && processed.isProcessed(command.eventId())) {
            int taskIndex = command.tasks() == null ? -1 : command.tasks().size() - 1;
            Boolean announced = tx.execute(s -> {
                var row = stored(command.streamId()).stream().filter(r -> r.taskIndex() == taskIndex).findFirst();
                row.ifPresent(r -> outbox.enqueue(Topics.EVALUATION_EVENTS, completed(command, r.taskIndex(), r.accuracies(),
                        r.averageAccuracy(), r.averageForgetting(), r.backwardTransfer())));
                return row.isPresent();
            });
            if (Boolean.TRUE.equals(announced)) return;
        }
        if (command.tasks() == null || command.tasks().isEmpty()) throw new IllegalArgumentException("no tasks to evaluate");
        if (command.adapterIds() == null || command.adapterIds().isEmpty()) throw new IllegalArgumentException("no adapters to evaluate");
        List<Adapter> set = command.adapterIds().stream().map(adapters::load).toList();
        List<Double> accuracies = new ArrayList<>();
        for (EvaluationTask task : command.tasks()) {
            accuracies.add(scorer.accuracy(set, clients.dataset(task.datasetId()).test()));
        }
        int taskIndex = command.tasks().size() - 1;
        double[][] matrix = matrix(command.streamId(), taskIndex, accuracies);
        ContinualMetrics.Result metrics = ContinualMetrics.compute(matrix);
        tx.executeWithoutResult(s -> {
            if (command.eventId() != null) processed.markProcessed(command.eventId());
            jdbc.update("""
                    insert into accuracy_row(stream_id, task_index, task_key, adapter_ids, task_keys, accuracies,
                                             average_accuracy, average_forgetting, backward_transfer)
                    values (?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?)
                    on conflict (stream_id, task_index) do update set task_key = excluded.task_key,
                        adapter_ids = excluded.adapter_ids, task_keys = excluded.task_keys, accuracies = excluded.accuracies,
                        average_accuracy = excluded.average_accuracy, average_forgetting = excluded.average_forgetting,
                        backward_transfer = excluded.backward_transfer, evaluated_at = now()""",
                    command.streamId(), taskIndex, command.taskKey(), Json.write(command.adapterIds()),
                    Json.write(command.tasks().stream().map(EvaluationTask::taskKey).toList()), Json.write(accuracies),
                    metrics.averageAccuracy(), metrics.averageForgetting(), metrics.backwardTransfer());
            outbox.enqueue(Topics.EVALUATION_EVENTS, completed(command, taskIndex, accuracies, metrics.averageAccuracy(),
                    metrics.averageForgetting(), metrics.backwardTransfer()));
        });
    }

    private static EvaluationCompleted completed(EvaluateStream c, int taskIndex, List<Double> accuracies,
                                                 double averageAccuracy, double averageForgetting, double backwardTransfer) {
        return new EvaluationCompleted(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                c.taskKey(), c.taskToken(), taskIndex, accuracies, averageAccuracy, averageForgetting, backwardTransfer);
    }

    /** Rows 0..taskIndex-1 from storage, then the new row (lower-triangular, zeros above the diagonal). */
    private double[][] matrix(String streamId, int taskIndex, List<Double> newRow) {
        double[][] m = new double[taskIndex + 1][taskIndex + 1];
        for (Stored row : stored(streamId)) {
            if (row.taskIndex() >= taskIndex) continue;
            for (int j = 0; j <= row.taskIndex() && j < row.accuracies().size(); j++) m[row.taskIndex()][j] = row.accuracies().get(j);
        }
        for (int j = 0; j <= taskIndex; j++) m[taskIndex][j] = newRow.get(j);
        return m;
    }

    private record Stored(int taskIndex, String taskKey, List<Double> accuracies, double averageAccuracy,
                          double averageForgetting, double backwardTransfer) {
    }

    private List<Stored> stored(String streamId) {
        return jdbc.query("select * from accuracy_row where stream_id = ? order by task_index", (rs, n) -> new Stored(
                rs.getInt("task_index"), rs.getString("task_key"), Json.read(rs.getString("accuracies"), new TypeReference<List<Double>>() { }),
                rs.getDouble("average_accuracy"), rs.getDouble("average_forgetting"), rs.getDouble("backward_transfer")), streamId);
    }

    public Matrix matrix(String streamId) {
        List<Stored> rows = stored(streamId);
        return new Matrix(streamId, rows.stream().map(Stored::taskKey).toList(), rows.stream().map(Stored::accuracies).toList(),
                rows.stream().map(Stored::averageAccuracy).toList(), rows.stream().map(Stored::averageForgetting).toList(),
                rows.stream().map(Stored::backwardTransfer).toList());
    }


}

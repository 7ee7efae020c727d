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
import io.lamina.contracts.LabeledText;
import io.lamina.engine.metrics.CompatibilityMetrics;
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
import java.util.Map;
import java.util.TreeMap;

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
                         List<Double> averageForgetting, List<Double> backwardTransfer, List<Double> negativeFlipRate,
                         List<Double> forwardTransfer, List<Long> trainableParameters) {
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
                        r.averageAccuracy(), r.averageForgetting(), r.backwardTransfer(), r.details())));
                return row.isPresent();
            });
            if (Boolean.TRUE.equals(announced)) return;
        }
        if (command.tasks() == null || command.tasks().isEmpty()) throw new IllegalArgumentException("no tasks to evaluate");
        if (command.adapterIds() == null || command.adapterIds().isEmpty()) throw new IllegalArgumentException("no adapters to evaluate");
        List<Adapter> set = command.adapterIds().stream().map(adapters::load).toList();
        List<Adapter> previous = command.promotedAdapterIds() == null ? set.subList(0, set.size() - 1)
                : command.promotedAdapterIds().stream().map(adapters::load).toList();
        List<Double> accuracies = new ArrayList<>();
        Map<String, int[]> perClass = new TreeMap<>();
        List<Boolean> before = new ArrayList<>();
        List<Boolean> after = new ArrayList<>();
        ServiceClients.Dataset newest = null;
        for (EvaluationTask task : command.tasks()) {
            ServiceClients.Dataset dataset = clients.dataset(task.datasetId());
            newest = dataset;
            List<LabeledText> test = dataset.test();
            boolean[] correct = scorer.correct(set, test);
            accuracies.add(TestSplitScorer.fraction(correct));
            for (int i = 0; i < test.size(); i++) {
                int[] counts = perClass.computeIfAbsent(test.get(i).label(), k -> new int[2]);
                if (correct[i]) counts[0]++;
                counts[1]++;
            }
            // Compatibility is measured on the tasks the previous version already served.
            if (!previous.isEmpty() && task != command.tasks().get(command.tasks().size() - 1)) {
                boolean[] old = scorer.correct(previous, test);
                for (int i = 0; i < test.size(); i++) {
                    before.add(old[i]);
                    after.add(correct[i]);
                }
            }
        }
        int taskIndex = command.tasks().size() - 1;
        double[][] matrix = matrix(command.streamId(), taskIndex, accuracies);
        ContinualMetrics.Result metrics = ContinualMetrics.compute(matrix);
        Details details = new Details(
                CompatibilityMetrics.negativeFlipRate(toArray(before), toArray(after)),
                accuracies.get(taskIndex) - scorer.baseAccuracy(newest.train(), newest.test()),
                set.stream().mapToLong(Adapter::trainableParameters).sum(),
                perClassAccuracy(perClass));
        tx.executeWithoutResult(s -> {
            if (command.eventId() != null) processed.markProcessed(command.eventId());
            jdbc.update("""
                    insert into accuracy_row(stream_id, task_index, task_key, adapter_ids, task_keys, accuracies,
                                             average_accuracy, average_forgetting, backward_transfer,
                                             negative_flip_rate, forward_transfer, trainable_parameters, per_class_accuracy)
                    values (?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?, ?, ?, ?, ?::jsonb)
                    on conflict (stream_id, task_index) do update set task_key = excluded.task_key,
                        adapter_ids = excluded.adapter_ids, task_keys = excluded.task_keys, accuracies = excluded.accuracies,
                        average_accuracy = excluded.average_accuracy, average_forgetting = excluded.average_forgetting,
                        backward_transfer = excluded.backward_transfer, negative_flip_rate = excluded.negative_flip_rate,
                        forward_transfer = excluded.forward_transfer, trainable_parameters = excluded.trainable_parameters,
                        per_class_accuracy = excluded.per_class_accuracy, evaluated_at = now()""",
                    command.streamId(), taskIndex, command.taskKey(), Json.write(command.adapterIds()),
                    Json.write(command.tasks().stream().map(EvaluationTask::taskKey).toList()), Json.write(accuracies),
                    metrics.averageAccuracy(), metrics.averageForgetting(), metrics.backwardTransfer(),
                    details.negativeFlipRate(), details.forwardTransfer(), details.trainableParameters(),
                    Json.write(details.perClassAccuracy()));
            outbox.enqueue(Topics.EVALUATION_EVENTS, completed(command, taskIndex, accuracies, metrics.averageAccuracy(),
                    metrics.averageForgetting(), metrics.backwardTransfer(), details));
        });
    }

    /** The metrics of a row beyond the accuracy matrix. */
    record Details(double negativeFlipRate, double forwardTransfer, long trainableParameters, Map<String, Double> perClassAccuracy) {
    }

    private static boolean[] toArray(List<Boolean> flags) {
        boolean[] out = new boolean[flags.size()];
        for (int i = 0; i < out.length; i++) out[i] = flags.get(i);
        return out;
    }

    private static Map<String, Double> perClassAccuracy(Map<String, int[]> counts) {
        Map<String, Double> out = new TreeMap<>();
        counts.forEach((label, c) -> out.put(label, c[1] == 0 ? 0.0 : (double) c[0] / c[1]));
        return out;
    }

    private static EvaluationCompleted completed(EvaluateStream c, int taskIndex, List<Double> accuracies,
                                                 double averageAccuracy, double averageForgetting, double backwardTransfer,
                                                 Details d) {
        return new EvaluationCompleted(Messages.newEventId(), LaminaMessage.SCHEMA_VERSION, Messages.now(), c.streamId(),
                c.taskKey(), c.taskToken(), taskIndex, accuracies, averageAccuracy, averageForgetting, backwardTransfer,
                d.negativeFlipRate(), d.forwardTransfer(), d.trainableParameters(), d.perClassAccuracy());
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
                          double averageForgetting, double backwardTransfer, Details details) {
    }

    private List<Stored> stored(String streamId) {
        return jdbc.query("select * from accuracy_row where stream_id = ? order by task_index", (rs, n) -> new Stored(
                rs.getInt("task_index"), rs.getString("task_key"), Json.read(rs.getString("accuracies"), new TypeReference<List<Double>>() { }),
                rs.getDouble("average_accuracy"), rs.getDouble("average_forgetting"), rs.getDouble("backward_transfer"),
                new Details(rs.getDouble("negative_flip_rate"), rs.getDouble("forward_transfer"), rs.getLong("trainable_parameters"),
                        Json.read(rs.getString("per_class_accuracy"), new TypeReference<Map<String, Double>>() { }))), streamId);
    }

    public Matrix matrix(String streamId) {
        List<Stored> rows = stored(streamId);
        return new Matrix(streamId, rows.stream().map(Stored::taskKey).toList(), rows.stream().map(Stored::accuracies).toList(),
                rows.stream().map(Stored::averageAccuracy).toList(), rows.stream().map(Stored::averageForgetting).toList(),
                rows.stream().map(Stored::backwardTransfer).toList(),
                rows.stream().map(r -> r.details().negativeFlipRate()).toList(),
                rows.stream().map(r -> r.details().forwardTransfer()).toList(),
                rows.stream().map(r -> r.details().trainableParameters()).toList());
    }


}

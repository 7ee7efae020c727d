package io.lamina.workflows.activities;

import io.lamina.contracts.AdapterSettings;
import io.lamina.contracts.ContinualTraining;
import io.lamina.contracts.EvaluationTask;
import io.lamina.contracts.LineageEdge;
import io.lamina.contracts.TrainingSettings;
import io.lamina.contracts.MergeRequest;
import io.lamina.contracts.messages.AdapterRegistered;
import io.lamina.contracts.messages.AdaptersMerged;
import io.lamina.contracts.messages.AdapterStatusChanged;
import io.lamina.contracts.messages.EvaluationCompleted;
import io.lamina.contracts.messages.AdapterGenerated;
import io.lamina.contracts.messages.GeneratorTrained;
import io.lamina.contracts.messages.NearestAdapterFound;
import io.lamina.contracts.messages.TrainingCompleted;
import io.temporal.activity.ActivityInterface;

import java.util.List;
import java.util.Map;

/**
 * Work done by the services. Each method publishes a command carrying the activity's task
 * token and returns without completing; the {@code KafkaTemporalBridge} completes it when the
 * service's result event arrives (and records its progress events as heartbeats).
 */
@ActivityInterface
public interface ServiceCommandActivities {
    record TrainRequest(String streamId, String taskKey, String datasetId, String description, AdapterSettings adapter,
                        TrainingSettings training, String warmStartAdapterId, String warmStartBlobKey,
                        ContinualTraining continual) {
    }

    record RegisterRequest(String streamId, String taskKey, String adapterId, String blobKey, String sha256,
                           String description, List<LineageEdge> lineage, Map<String, Double> metrics) {
    }

    /** Trains an adapter (training-worker). */
    TrainingCompleted train(TrainRequest request);

    /** Registers the trained adapter (registry). */
    AdapterRegistered register(RegisterRequest request);

    /**
     * Scores the adapter set on every seen task's test split (evaluation); the negative flip rate is
     * measured against {@code servingIds}, the set serving the stream now.
     */
    EvaluationCompleted evaluate(String streamId, String taskKey, List<String> adapterIds, List<EvaluationTask> tasks,
                                 List<String> servingIds);

    /** Promotes or rejects a candidate (registry). */
    AdapterStatusChanged changeStatus(String streamId, String adapterId, String status, String reason);

    /** Merges registered adapters into a new registered one (composition). */
    AdaptersMerged merge(String streamId, MergeRequest request);

    /** Finds the registered adapter whose description is nearest (hypernetwork). */
    NearestAdapterFound findNearest(String streamId, String description);

    /**
     * Generates and registers an adapter for a task from its dataset (hypernetwork); {@code method}
     * null for the best generator there is. Without a fitting generator the reply names the nearest adapter.
     */
    AdapterGenerated generate(String streamId, String taskKey, String datasetId, String description, String method);

    /** Trains a new version of a generator from the registry's adapters (hypernetwork). */
    GeneratorTrained trainGenerator(String method, String reason);
}

package io.lamina.contracts;

/**
 * Kafka topic names ({@code lamina.<area>.<kind>}). Every topic has exactly one producing
 * service; messages are keyed by stream id so a stream's messages stay ordered.
 */
public final class Topics {
    /** Produced by upstream data systems (and the demo producer); consumed by ingestion. */
    public static final String UPSTREAM_DATASETS = "lamina.upstream.datasets";
    /** Produced by ingestion. */
    public static final String DATASET_EVENTS = "lamina.datasets.events";
    /** Produced by workflows; consumed by training-worker. */
    public static final String TRAINING_COMMANDS = "lamina.training.commands";
    /** Produced by training-worker. */
    public static final String TRAINING_EVENTS = "lamina.training.events";
    /** Produced by workflows; consumed by registry. */
    public static final String REGISTRY_COMMANDS = "lamina.registry.commands";
    /** Produced by registry. */
    public static final String REGISTRY_EVENTS = "lamina.registry.events";
    /** Produced by workflows; consumed by evaluation. */
    public static final String EVALUATION_COMMANDS = "lamina.evaluation.commands";
    /** Produced by evaluation. */
    public static final String EVALUATION_EVENTS = "lamina.evaluation.events";
    /** Produced by workflows; consumed by composition (merges run as activities). */
    public static final String COMPOSITION_COMMANDS = "lamina.composition.commands";
    /** Produced by composition. */
    public static final String COMPOSITION_EVENTS = "lamina.composition.events";
    /** Produced by workflows; consumed by hypernetwork. */
    public static final String HYPERNETWORK_COMMANDS = "lamina.hypernetwork.commands";
    /** Produced by hypernetwork. */
    public static final String HYPERNETWORK_EVENTS = "lamina.hypernetwork.events";

    /** Where a consumer of {@code topic} parks messages it cannot read, with the reason in headers. */
    public static String deadLetter(String topic) {
        return topic + ".dlq";
    }

    public static final java.util.List<String> ALL = java.util.List.of(UPSTREAM_DATASETS, DATASET_EVENTS,
            TRAINING_COMMANDS, TRAINING_EVENTS, REGISTRY_COMMANDS, REGISTRY_EVENTS, EVALUATION_COMMANDS,
            EVALUATION_EVENTS, COMPOSITION_COMMANDS, COMPOSITION_EVENTS, HYPERNETWORK_COMMANDS, HYPERNETWORK_EVENTS);

    private Topics() {
    }
}

package io.lamina.workflows.stream;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How a stream learns task after task (METHODS.md §5-§7 for the methods). What each one asks of
 * the services is decided in {@code TaskLifecycleWorkflowImpl}; the shape of what it serves is here.
 */
public enum Strategy {
    /** One adapter trained on each task in turn, starting from the last one: the naive baseline that forgets. */
    SEQUENTIAL("sequential", Serving.ONE_ADAPTER,
            "one adapter trained on each task in turn, its head grown; the naive baseline that forgets"),
    /** MOS: a new adapter per task pulled toward the earlier ones while it trains; retrieval at inference. */
    PER_TASK_RETRIEVAL("per-task-retrieval", Serving.ADAPTER_PER_TASK,
            "MOS: an adapter per task, pulled toward the earlier ones while it trains; retrieved per input without a task id"),
    /** A new adapter per task, then all of them merged (TIES by default) into the one stream adapter. */
    MERGE_AFTER_TASK("merge-after-task", Serving.MERGED,
            "an adapter per task, then every task adapter merged (TIES by default) into the one stream adapter"),
    /** SEMA: a new adapter only when the task's descriptor z-scores show a shift, else reuse one with a new head. */
    SEMA("sema", Serving.ADAPTER_PER_TASK,
            "SEMA: a new adapter only when the task's texts are a shift for every existing adapter's descriptor, else a new head on the best match"),
    /** MoRA: one adapter of rank-1 experts; each task appends experts (earlier ones frozen), gated per token. */
    MORA("mora", Serving.ONE_ADAPTER,
            "MoRA: one adapter of rank-1 experts; each task adds experts behind the frozen earlier ones, self-activated per token"),
    /**
     * A new adapter per task, started from an adapter the hypernetwork service generates for the task
     * (GenerativeAdapter from its examples, else ICM-LoRA from its description), or from the nearest
     * registered adapter while no generator has been trained.
     */
    HYPERNETWORK_WARM_START("hypernetwork-warm-start", Serving.ADAPTER_PER_TASK,
            "an adapter per task, started from one the hypernetwork generates for the task (nearest registered adapter until a generator is trained)"),
    /** One adapter retrained on every task so far: the upper bound the others are compared with. */
    JOINT("joint", Serving.ONE_ADAPTER,
            "one adapter retrained on every task so far: the upper bound");

    /** What serves the stream after a task. */
    public enum Serving {
        /** the promoted adapters of every task, routed without a task id */
        ADAPTER_PER_TASK,
        /** the newest adapter alone (its head covers every class so far); it supersedes the previous one */
        ONE_ADAPTER,
        /** a merge of every task's adapter; it supersedes the previous merge */
        MERGED
    }

    /** Name of the strategy of streams created before strategies existed; it behaves as {@link #PER_TASK_RETRIEVAL}. */
    static final String LEGACY_PER_TASK_ADAPTER = "per-task-adapter";

    private final String id;
    private final Serving serving;
    private final String summary;

    Strategy(String id, Serving serving, String summary) {
        this.id = id;
        this.serving = serving;
        this.summary = summary;
    }

    public String id() { return id; }

    public String summary() { return summary; }

    public Serving serving() { return serving; }

    public static Strategy of(String id) {
        if (id == null || id.equals(LEGACY_PER_TASK_ADAPTER)) return PER_TASK_RETRIEVAL;
        String key = id.toLowerCase(Locale.ROOT);
        for (Strategy s : values()) {
            if (s.id.equals(key)) return s;
        }
        String known = Arrays.stream(values()).map(Strategy::id).collect(Collectors.joining(", "));
        throw new IllegalArgumentException("strategy '" + id + "' is not available (available: " + known + ")");
    }
}

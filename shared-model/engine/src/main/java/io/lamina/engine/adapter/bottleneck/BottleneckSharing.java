package io.lamina.engine.adapter.bottleneck;

/**
 * How a new task's bottleneck adapter reuses an earlier task's (VL-Adapter's {@code AdapterController}:
 * multiple adapters, {@code share_up_sampler} / {@code share_down_sampler}, {@code use_single_adapter}),
 * for continual streams where the earlier adapter is the run's warm start.
 *
 * <p>Lamina's adapters are immutable values, so "sharing" cannot mean one parameter object trained by
 * two tasks at once, as in VL-Adapter's joint multi-task training: the shared part is <i>copied</i> from
 * the earlier adapter and trained further on the new task; the earlier adapter itself never changes. The
 * new task's adapter carries the continued shared part, so a stream's latest adapter is where the shared
 * part lives.
 */
public enum BottleneckSharing {
    /** An adapter per task: the warm start's weights are not used, everything starts fresh. */
    NONE(false, false),
    /** One adapter for all tasks: a new task continues the warm start's whole adapter. */
    SINGLE(true, true),
    /** The up-projection (weight and bias) continues the warm start's; the down-projection is fresh and task-specific. */
    SHARE_UP(false, true),
    /** The down-projection (weight and bias) continues the warm start's; the up-projection is fresh (zero) and task-specific. */
    SHARE_DOWN(true, false);

    private final boolean down;
    private final boolean up;

    BottleneckSharing(boolean down, boolean up) {
        this.down = down;
        this.up = up;
    }

    /** Whether the down-projection ({@code W_down}, {@code b_down}) comes from the earlier adapter. */
    public boolean sharesDown() { return down; }

    /** Whether the up-projection ({@code W_up}, {@code b_up}) comes from the earlier adapter. */
    public boolean sharesUp() { return up; }

    /** Whether the given tensor comes from the earlier adapter. */
    public boolean shares(BottleneckSpec.Tensor t) {
        return t.isDown() ? down : up;
    }
}

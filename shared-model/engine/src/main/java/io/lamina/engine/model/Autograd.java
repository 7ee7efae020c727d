package io.lamina.engine.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's grad mode is per thread and on by default, so threads that never opened a
 * {@code GradientCollector} still record autograd state for ops on arrays that require
 * gradients, and in-place updates of parameters are refused while it is on. These helpers turn
 * it off around inference and optimizer updates and put the previous value back.
 *
 * <p>Scalars in recorded ops: never write {@code x.mul(2f)}, {@code x.div(n)}, {@code x.add(c)}
 * (any {@code NDArray} op taking a {@code Number}) on a path that autograd records. DJL's PyTorch
 * engine turns the number into a tensor over a Java direct buffer ({@code from_blob}) and closes
 * that wrapper as soon as the op returns, but autograd keeps the tensor for backward (a product
 * saves both factors). Nothing then keeps the buffer reachable: a garbage collection between
 * forward and backward frees it, and backward multiplies by whatever lies in that memory by then
 * (wrong or NaN gradients, more likely the busier the JVM). Use {@link #constant} instead.
 */
public final class Autograd {
    private static final boolean PYTORCH = "PyTorch".equals(Engine.getDefaultEngineName());

    /**
     * DJL allows one {@code GradientCollector} per process (PyTorch's refuses a second one rather
     * than waiting). Every training step in the engine holds this lock while its collector is
     * open, so a LoRA training job and a learned merge in the same JVM take turns step by step.
     */
    public static final Object STEP_LOCK = new Object();

    private Autograd() {
    }

    /** Turns grad mode off on this thread; returns the previous state for {@link #restore}. */
    public static boolean disable() {
        if (!PYTORCH) return false;
        boolean previous = JniUtils.isGradMode();
        if (previous) JniUtils.setGradMode(false);
        return previous;
    }

    public static void restore(boolean previous) {
        if (PYTORCH && previous) JniUtils.setGradMode(true);
    }

    /**
     * A 0-d float32 constant on {@code manager}'s device whose memory the native engine allocates
     * and reference-counts, so it may be saved by autograd and outlive its wrapper: the operand for
     * scaling arrays in recorded ops (see the class comment). The array belongs to {@code manager}
     * (and the open {@code NDScope}, if any) like any other.
     */
    public static NDArray constant(NDManager manager, float value) {
        return manager.full(new Shape(), value);
    }

    /** A scalar's value, read with grad mode off (reading it must not join the recorded graph). */
    public static float value(NDArray scalar) {
        boolean grad = disable();
        try {
            return scalar.getFloat();
        } finally {
            restore(grad);
        }
    }
}

package io.lamina.engine.model;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's grad mode is per thread and on by default, so threads that never opened a
 * {@code GradientCollector} still record autograd state for ops on arrays that require
 * gradients, and in-place updates of parameters are refused while it is on. These helpers turn
 * it off around inference and optimizer updates and put the previous value back.
 */
public final class Autograd {
    private static final boolean PYTORCH = "PyTorch".equals(Engine.getDefaultEngineName());

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
}

package io.lamina.engine.training;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import io.lamina.engine.tensor.HostTensor;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.List;

/**
 * AdamW (decoupled weight decay) with global-norm gradient clipping, on NDArrays. Written here
 * rather than using DJL's {@code Optimizer} because the moments must go into checkpoints, and DJL's
 * optimizers keep them private. Used by LoRA training and by learned merges.
 */
public final class AdamW {
    public static final float BETA1 = 0.9f;
    public static final float BETA2 = 0.999f;
    public static final float EPS = 1e-8f;

    /**
     * A trainable array and its moments.
     *
     * @param key       its name in checkpoints (may be null where nothing is checkpointed)
     * @param decay     decoupled weight-decay coefficient (0: none)
     * @param lrFactor  multiplies the learning rate for this parameter
     */
    public record Param(String key, NDArray value, NDArray m, NDArray v, float decay, float lrFactor) {
    }

    /**
     * A run-lived trainable array on {@code mgr}'s device (outside any open {@code NDScope}), with its
     * moments restored from a checkpoint or zero.
     */
    public static Param param(NDManager mgr, String key, HostTensor init, HostTensor mOrNull, HostTensor vOrNull, float decay) {
        Shape shape = new Shape(init.shape());
        NDArray value = mgr.create(init.data(), shape);
        NDArray m = moment(mgr, mOrNull, shape);
        NDArray v = moment(mgr, vOrNull, shape);
        NDScope.unregister(value, m, v);
        value.setRequiresGradient(true);
        return new Param(key, value, m, v, decay, 1f);
    }

    private static NDArray moment(NDManager mgr, HostTensor saved, Shape shape) {
        if (saved == null) return mgr.zeros(shape);
        if (!java.util.Arrays.equals(saved.shape(), shape.getShape())) {
            throw new IllegalStateException("checkpoint moment has shape " + java.util.Arrays.toString(saved.shape()) + ", expected " + shape);
        }
        return mgr.create(saved.data(), shape);
    }

    /**
     * One update of every parameter from its gradient, then the gradients are zeroed. Call with
     * grad mode off, after the gradient collector is closed (PyTorch refuses in-place updates of
     * leaves while recording).
     *
     * @param step         0-based step (bias correction uses step + 1)
     * @param maxGradNorm  clip the global gradient norm to this; {@code <= 0} for no clipping
     */
    public static void update(List<Param> params, int step, float lr, float maxGradNorm) {
        NDArray[] grads = new NDArray[params.size()];
        double squares = 0;
        for (int i = 0; i < grads.length; i++) {
            grads[i] = params.get(i).value().getGradient();
            squares += grads[i].square().sum().getFloat();
        }
        float clip = 1f;
        if (maxGradNorm > 0) {
            double norm = Math.sqrt(squares);
            if (norm > maxGradNorm) clip = (float) (maxGradNorm / (norm + 1e-6));
        }
        int t = step + 1;
        float bias1 = 1f - (float) Math.pow(BETA1, t);
        float bias2 = 1f - (float) Math.pow(BETA2, t);
        for (int i = 0; i < grads.length; i++) {
            Param p = params.get(i);
            NDArray g = clip == 1f ? grads[i] : grads[i].mul(clip);
            p.m().muli(BETA1).addi(g.mul(1f - BETA1));
            p.v().muli(BETA2).addi(g.square().muli(1f - BETA2));
            float rate = lr * p.lrFactor();
            if (p.decay() > 0) p.value().muli(1f - rate * p.decay());
            NDArray denominator = p.v().div(bias2).sqrt().addi(EPS);
            p.value().subi(p.m().div(denominator).muli(rate / bias1));
            if (p.value() instanceof PtNDArray pt) {
                JniUtils.zeroGrad(pt);
            } else {
                grads[i].subi(grads[i]);
            }
        }
    }

    private AdamW() {
    }
}

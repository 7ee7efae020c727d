package io.lamina.engine.adapter.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.lamina.engine.model.Autograd;

/**
 * DoRA, weight-decomposed low-rank adaptation (Liu et al. 2024), as PEFT implements it
 * ({@code tuners/lora/dora.py}, {@code DoraLinearLayer}) for a linear layer {@code W [out, in]}:
 *
 * <pre>
 *   n   = ‖W + s B A‖ over dim 1, i.e. one L2 norm per OUTPUT feature (row of W)   [out]
 *   y   = (m / n) ⊙ (W x + s B A x) + b
 *       = W x + b + (m/n − 1) ⊙ W x + (m/n) ⊙ s B A x        (the form computed, as PEFT does)
 * </pre>
 *
 * with {@code m [out]} the trained magnitude vector, initialised to {@code n} of the initial factors
 * (with B = 0: the row norms of W), so the adapted layer equals the base layer at step 0. PEFT's
 * comment calls this norm "column-wise" (the paper writes W as {@code [in, out]}); in the
 * {@code [out, in]} layout of PyTorch and DJL it is {@code torch.linalg.norm(W + s·BA, dim=1)}.
 *
 * <p>The norm is <b>detached</b>, as in PEFT (following §4.3 of the paper): it follows the factors in
 * the forward but no gradient flows through it, which saves memory and, per the paper, does not hurt
 * accuracy. Here it is computed with grad mode off, so it is not even recorded.
 *
 * <p>With dropout on the adapter's input in training, PEFT recomputes {@code W x} on the dropped-out
 * input for the magnitude term ({@code base_result = None}); so does {@code BaseModel}. The bias is
 * never rescaled. Merging folds it all into the weight: {@code W' = (m/n)[:, None] ⊙ (W + s B A)}.
 */
public final class Dora {
    private Dora() {
    }

    /**
     * {@code ‖W + s B A‖} per output row, with grad mode off (detached).
     *
     * @param w    {@code [out, in]}, possibly pre-multiplied by a fold factor {@code c} (the attention scale folded into the query)
     * @param a    {@code [r, in]}
     * @param b    {@code [out, r]}
     * @param s    LoRA scaling in the same units as {@code w} ({@code c · alpha/r})
     * @param fold {@code c}: the norm is divided by it, so it is the norm of the unfolded weight
     * @return {@code [out]}
     */
    public static NDArray weightNorm(NDArray w, NDArray a, NDArray b, float s, float fold) {
        boolean grad = Autograd.disable();
        try {
            NDArray adapted = w.add(b.matMul(a).mul(s));
            NDArray norm = adapted.square().sum(new int[]{1}).sqrt();
            return fold == 1f ? norm : norm.div(fold);
        } finally {
            Autograd.restore(grad);
        }
    }

    /**
     * The DoRA update added to the base output of one target, {@code [N, out]}:
     * {@code (m/n − 1) ⊙ W x_d + (m/n) ⊙ loraOut}.
     *
     * @param baseNoBias {@code W x_d [N, out]} without the bias ({@code x_d}: the adapter's input after dropout)
     * @param loraOut    {@code s B A x_d [N, out]}
     * @param magnitude  {@code m [out]} (trained)
     * @param norm       {@link #weightNorm} {@code [out]} (detached)
     */
    public static NDArray delta(NDManager mgr, NDArray baseNoBias, NDArray loraOut, NDArray magnitude, NDArray norm) {
        NDArray scale = magnitude.div(norm);                                           // [out], gradient reaches m
        // Not sub(1f): autograd keeps the operand (see Autograd#constant).
        return baseNoBias.mul(scale.sub(Autograd.constant(mgr, 1f))).add(loraOut.mul(scale));
    }
}

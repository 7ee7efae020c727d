package io.lamina.engine.training;

import io.lamina.engine.adapter.lora.PrincipalInit;

import java.util.List;

/**
 * A LoRA run that starts from the principal components of the pretrained weights ({@link PrincipalInit}).
 *
 * @param method           PiSSA, or CorDA in its instruction-previewed or knowledge-preserved mode
 * @param calibrationTexts CorDA's context: texts whose inputs to each target linear give its covariance (the
 *                         task's own data for IPM, data whose behaviour must be kept for KPM); empty for PiSSA
 */
public record PrincipalInitialisation(PrincipalInit.Method method, List<String> calibrationTexts) {
    public PrincipalInitialisation {
        if (method == null) throw new IllegalArgumentException("a principal initialiser needs a method");
        calibrationTexts = calibrationTexts == null ? List.of() : List.copyOf(calibrationTexts);
        if (method.needsCalibration() && calibrationTexts.isEmpty()) {
            throw new IllegalArgumentException(method.id() + " needs calibration texts: the covariance of each layer's inputs over them orients the decomposition");
        }
    }

    public static PrincipalInitialisation pissa() { return new PrincipalInitialisation(PrincipalInit.Method.PISSA, List.of()); }
}

package io.lamina.engine.training;

import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.lora.PrincipalInit;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.ResidualWeights;
import io.lamina.engine.tensor.HostTensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A LoRA run's start from W's principal components ({@link PrincipalInit}): the factors {@code B₀, A₀} per layer and
 * target, and what provenance records of them. The run trains {@code (B, A)} from {@code (B₀, A₀)} on the frozen
 * residual {@code W − s·B₀A₀}; the result is stored as PEFT recommends for sharing such an adapter, a plain LoRA of
 * rank {@code 2r} on the original base, {@code ΔW = s(BA − B₀A₀) = s'·[B | −B₀]·[A ; A₀]} with {@code s' = s}
 * ({@link #baseSpec}), so merges, serving and PEFT see an ordinary LoRA and the base model stays shared.
 */
record PrincipalStart(Map<String, HostTensor> factors, Map<String, String> provenance) {
    /** CorDA's covariance is estimated from at most this many calibration texts (the paper uses 256 samples). */
    static final int MAX_CALIBRATION = 256;

    static PrincipalStart of(BaseModel base, LoraSpec spec, PrincipalInitialisation init, int maxLength) {
        if (2 * spec.rank() > 256) throw new IllegalArgumentException(init.method().id() + " stores a rank-" + 2 * spec.rank()
                + " LoRA (its factors and the residual's); rank must be at most 128");
        Map<String, double[][]> covariances = Map.of();
        List<String> calibration = init.calibrationTexts().subList(0, Math.min(MAX_CALIBRATION, init.calibrationTexts().size()));
        if (init.method().needsCalibration()) {
            covariances = base.inputCovariances(base.tokenize(calibration, maxLength), spec.targetModules());
        }
        Map<String, HostTensor> factors = new TreeMap<>();
        double energy = 0;
        int count = 0;
        for (int l = 0; l < base.layers(); l++) {
            for (String module : spec.targetModules()) {
                double[][] w = base.pretrainedWeight(l, module);
                PrincipalInit.Factors f = switch (init.method()) {
                    case PISSA -> PrincipalInit.pissa(w, spec.rank(), spec.exactScaling());
                    case CORDA_IPM -> PrincipalInit.corda(w, covariances.get(ResidualWeights.key(l, module)), spec.rank(), spec.exactScaling(), true);
                    case CORDA_KPM -> PrincipalInit.corda(w, covariances.get(ResidualWeights.key(l, module)), spec.rank(), spec.exactScaling(), false);
                };
                factors.put(LoraSpec.peftKey(l, module, 'A'), new HostTensor(new long[]{spec.rank(), w[0].length}, PrincipalInit.flat(f.a())));
                factors.put(LoraSpec.peftKey(l, module, 'B'), new HostTensor(new long[]{w.length, spec.rank()}, PrincipalInit.flat(f.b())));
                energy += PrincipalInit.energyShare(f);
                count++;
            }
        }
        Map<String, String> provenance = new LinkedHashMap<>();
        provenance.put("init", init.method().id());
        provenance.put("init-rank", Integer.toString(spec.rank()));
        provenance.put("init-energy-share", String.format(java.util.Locale.ROOT, "%.4f", energy / count));
        if (init.method().needsCalibration()) provenance.put("calibration-examples", Integer.toString(calibration.size()));
        provenance.put("stored-as", "rank-" + 2 * spec.rank() + " LoRA on the original base: A = [A; A0], B = [B, -B0]");
        return new PrincipalStart(factors, provenance);
    }

    /** The spec of the stored adapter: rank {@code 2r} and alpha such that its scaling equals the run's. */
    static LoraSpec baseSpec(LoraSpec run) {
        float alpha = (float) (run.rslora() ? run.alpha() * Math.sqrt(2) : 2.0 * run.alpha());
        return new LoraSpec(2 * run.rank(), alpha, run.dropout(), run.targetModules(), run.rslora(), run.variant());
    }

    /** The trained factors as a LoRA on the original base: {@code A' = [A; A₀]}, {@code B' = [B, −B₀]}. */
    Map<String, HostTensor> onOriginalBase(LoraSpec run, Map<String, HostTensor> trained) {
        Map<String, HostTensor> out = new TreeMap<>();
        for (Map.Entry<String, HostTensor> e : trained.entrySet()) {
            HostTensor start = factors.get(e.getKey());
            if (start == null) throw new IllegalStateException("no principal factor for " + e.getKey());
            boolean isA = e.getKey().endsWith("lora_A.weight");
            out.put(e.getKey(), isA ? HostTensor.concatRows(e.getValue(), start) : HostTensor.concatColumns(e.getValue(), negated(start)));
        }
        return out;
    }

    private static HostTensor negated(HostTensor t) {
        float[] d = t.data().clone();
        for (int i = 0; i < d.length; i++) d[i] = -d[i];
        return new HostTensor(t.shape(), d);
    }
}

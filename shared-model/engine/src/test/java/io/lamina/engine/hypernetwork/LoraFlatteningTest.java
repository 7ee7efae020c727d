package io.lamina.engine.hypernetwork;

import io.lamina.engine.adapter.lora.LoraInit;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.tensor.HostTensor;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

class LoraFlatteningTest {

    private static Map<String, HostTensor> trainedLikeLora() {
        Map<String, HostTensor> w = new TreeMap<>(LoraInit.initialWeights(LoraSpec.defaults(), 6, 384, 7L));
        SplittableRandom r = new SplittableRandom(3);
        // B factors as after training: small, off-centre values
        w.replaceAll((k, t) -> {
            if (!k.contains("lora_B")) return t;
            float[] v = new float[t.data().length];
            for (int i = 0; i < v.length; i++) v[i] = (float) (0.002 + 0.01 * r.nextGaussian());
            return new HostTensor(t.shape(), v);
        });
        return w;
    }

    @Test
    void flattenNormaliseDenormaliseUnflattenIsARoundTrip() {
        Map<String, HostTensor> weights = trainedLikeLora();
        LoraFlattening.Flattened flat = LoraFlattening.flatten(weights);
        assertThat(flat.dimension()).isEqualTo(6 * 2 * 2 * 8 * 384);
        // every tensor is z-normalised on its own
        for (LoraFlattening.Slot s : flat.slots()) {
            double mean = 0, sq = 0;
            for (int i = 0; i < s.length(); i++) {
                mean += flat.values()[s.offset() + i];
                sq += flat.values()[s.offset() + i] * (double) flat.values()[s.offset() + i];
            }
            assertThat(mean / s.length()).isCloseTo(0, org.assertj.core.data.Offset.offset(1e-5));
            assertThat(sq / s.length()).isCloseTo(1, org.assertj.core.data.Offset.offset(1e-4));
        }
        SortedMap<String, HostTensor> back = LoraFlattening.unflatten(flat.values(), flat.slots());
        assertThat(back.keySet()).isEqualTo(new TreeMap<>(weights).keySet());
        for (LoraFlattening.Slot s : flat.slots()) {
            HostTensor original = weights.get(s.key());
            HostTensor restored = back.get(s.key());
            assertThat(restored.shape()).isEqualTo(original.shape());
            for (int i = 0; i < original.data().length; i++) {
                // float rounding of the normalised value only
                assertThat(Math.abs(restored.data()[i] - original.data()[i])).isLessThanOrEqualTo((float) (1e-6 * s.std()) + Math.ulp(original.data()[i]));
            }
        }
    }

    @Test
    void aConstantTensorNormalisesToZerosAndComesBack() {
        Map<String, HostTensor> w = Map.of("b", HostTensor.zeros(4, 3), "a", new HostTensor(new long[]{2}, new float[]{1f, 3f}));
        LoraFlattening.Flattened flat = LoraFlattening.flatten(w);
        assertThat(flat.slots().get(0).key()).isEqualTo("a"); // key order
        assertThat(flat.values()).containsExactly(-1f, 1f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f, 0f);
        assertThat(LoraFlattening.unflatten(flat.values(), flat.slots())).isEqualTo(new TreeMap<>(w));
    }
}

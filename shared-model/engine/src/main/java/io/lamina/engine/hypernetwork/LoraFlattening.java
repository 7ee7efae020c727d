package io.lamina.engine.hypernetwork;

import io.lamina.engine.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * ICM-LoRA's view of a LoRA checkpoint as one vector: every tensor z-normalised on its own
 * ({@code (v − mean) / std}, mean and std kept), flattened and concatenated in key order.
 * Normalisation runs in double precision; {@link #unflatten} inverts it up to float rounding of the
 * normalised values (relative error below 1e-6 of the tensor's std).
 */
public final class LoraFlattening {
    private LoraFlattening() {
    }

    /** Where one tensor lies in the vector, and the statistics it was normalised with. */
    public record Slot(String key, long[] shape, int offset, int length, double mean, double std) {
    }

    /** A flattened, normalised checkpoint. */
    public record Flattened(float[] values, List<Slot> slots) {
        public int dimension() { return values.length; }

        /** The tensors' layout (keys, shapes, offsets), for comparing checkpoints. */
        public String layout() {
            StringBuilder b = new StringBuilder();
            for (Slot s : slots) b.append(s.key()).append(Arrays.toString(s.shape())).append(';');
            return b.toString();
        }
    }

    public static Flattened flatten(Map<String, HostTensor> weights) {
        SortedMap<String, HostTensor> sorted = new TreeMap<>(weights);
        int total = 0;
        for (HostTensor t : sorted.values()) total += t.data().length;
        float[] out = new float[total];
        List<Slot> slots = new ArrayList<>();
        int offset = 0;
        for (var e : sorted.entrySet()) {
            float[] v = e.getValue().data();
            double mean = 0;
            for (float x : v) mean += x;
            mean /= v.length;
            double var = 0;
            for (float x : v) var += (x - mean) * (x - mean);
            double std = Math.sqrt(var / v.length);
            if (!(std > 0)) std = 1; // a constant tensor (e.g. an untrained zero B) normalises to zeros
            for (int i = 0; i < v.length; i++) out[offset + i] = (float) ((v[i] - mean) / std);
            slots.add(new Slot(e.getKey(), e.getValue().shape().clone(), offset, v.length, mean, std));
            offset += v.length;
        }
        return new Flattened(out, List.copyOf(slots));
    }

    /** The tensors of a normalised vector laid out as {@code slots}, de-normalised with the slots' statistics. */
    public static SortedMap<String, HostTensor> unflatten(float[] values, List<Slot> slots) {
        SortedMap<String, HostTensor> out = new TreeMap<>();
        for (Slot s : slots) {
            if (s.offset() + s.length() > values.length) {
                throw new IllegalArgumentException("vector of " + values.length + " values is too short for " + s.key());
            }
            float[] v = new float[s.length()];
            for (int i = 0; i < v.length; i++) v[i] = (float) (values[s.offset() + i] * s.std() + s.mean());
            out.put(s.key(), new HostTensor(s.shape().clone(), v));
        }
        return out;
    }
}

package io.lamina.engine.training;

import io.lamina.engine.io.Safetensors;
import io.lamina.engine.tensor.HostTensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Snapshots of the adapter's factors along one training run (ICM-LoRA learns from trajectories):
 * {@code count} snapshots evenly spaced over the second half of the run, the last one at the final
 * step. A run resumed from a checkpoint keeps the snapshots taken after it resumed.
 */
public final class Trajectory {
    public static final String FORMAT = "lamina-lora-trajectory/1";
    /** Provenance detail of a trained adapter naming the blob that holds its trajectory. */
    public static final String PROVENANCE_KEY = "trajectory-blob";
    private static final String PREFIX = "step.";

    public record Snapshot(int step, SortedMap<String, HostTensor> weights) {
    }

    private final int count;
    private final List<Snapshot> snapshots = new ArrayList<>();

    private Trajectory(int count) {
        this.count = count;
    }

    /** Keep {@code count} snapshots, at least 1. */
    public static Trajectory keep(int count) {
        if (count < 1 || count > 64) throw new IllegalArgumentException("trajectory snapshots must be in [1, 64], got " + count);
        return new Trajectory(count);
    }

    /** Whether the run of {@code total} steps snapshots after step {@code done} (1-based). */
    boolean wants(int done, int total) {
        int half = total / 2;
        int span = total - half;
        for (int i = 1; i <= count; i++) {
            if (half + (int) Math.round((double) i * span / count) == done) return true;
        }
        return false;
    }

    synchronized void record(int step, Map<String, HostTensor> weights) {
        snapshots.add(new Snapshot(step, new TreeMap<>(weights)));
    }

    public synchronized List<Snapshot> snapshots() {
        return List.copyOf(snapshots);
    }

    /** One safetensors file: tensors {@code step.<s>.<peft key>}. */
    public static byte[] toSafetensors(List<Snapshot> snapshots) {
        Map<String, HostTensor> tensors = new TreeMap<>();
        List<Integer> steps = new ArrayList<>();
        for (Snapshot s : snapshots) {
            steps.add(s.step());
            s.weights().forEach((k, v) -> tensors.put(PREFIX + s.step() + "." + k, v));
        }
        return Safetensors.write(tensors, Map.of("format", FORMAT, "steps", steps.toString().replaceAll("[\\[\\] ]", "")));
    }

    public static List<Snapshot> fromSafetensors(byte[] bytes) {
        Safetensors.SafetensorsFile f = Safetensors.readFloatTensors(bytes);
        if (!FORMAT.equals(f.metadata().get("format"))) throw new IllegalArgumentException("not a LoRA trajectory (format " + f.metadata().get("format") + ")");
        List<Snapshot> out = new ArrayList<>();
        String steps = f.metadata().getOrDefault("steps", "");
        for (int step : steps.isEmpty() ? new int[0] : Arrays.stream(steps.split(",")).mapToInt(Integer::parseInt).toArray()) {
            String prefix = PREFIX + step + ".";
            SortedMap<String, HostTensor> w = new TreeMap<>();
            f.tensors().forEach((k, v) -> {
                if (k.startsWith(prefix)) w.put(k.substring(prefix.length()), v);
            });
            out.add(new Snapshot(step, w));
        }
        return out;
    }
}

package io.lamina.engine.bench;

import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.serving.MixedAdapterEncoder;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Scratch profiling (temporary). */
public final class ScratchProfile {
    static void time(String name, int reps, Runnable r) {
        double best = Double.MAX_VALUE;
        for (int i = 0; i < reps; i++) {
            long t0 = System.nanoTime();
            r.run();
            best = Math.min(best, (System.nanoTime() - t0) / 1e9);
        }
        System.out.printf("%-50s %8.3f s  %8.1f sent/s%n", name, best, 256 / best);
    }

    public static void main(String[] args) {
        BaseModel base = BaseModel.miniLm();
        List<String> texts = MixedBatchBenchmark.glosses(256, 42);
        List<Adapter> pool = new ArrayList<>();
        for (int k = 0; k < 32; k++) pool.add(MixedBatchBenchmark.randomAdapter(base, 1000 + k));
        List<Adapter> perRow = MixedBatchBenchmark.assign(pool, 256, 32);
        int reps = Integer.getInteger("reps", 3);
        base.embed(texts, null);
        time("base 256 null", reps, () -> base.embed(texts, null));
        time("base 256 one adapter (merged)", reps, () -> base.embed(texts, pool.get(0)));
        time("separate K=32 (merged)", reps, () -> MixedBatchBenchmark.separate(base, texts, perRow));
        List<Adapter> nulls = new ArrayList<>();
        for (int i = 0; i < 256; i++) nulls.add(null);
        // same grouping, no adapters: forward-only cost of 32 sub-batches
        time("32 sub-batches of 8, base (no merge)", reps, () -> {
            for (int g = 0; g < 32; g++) base.embed(texts.subList(g * 8, g * 8 + 8), null);
        });
        for (int chunk : new int[]{32, 64, 128, 256}) {
            MixedAdapterEncoder enc = new MixedAdapterEncoder(base, MixedAdapterEncoder.Strategy.GATHER, chunk);
            time("mixed GATHER K=32 chunk " + chunk, reps, () -> enc.embed(texts, perRow));
        }
        MixedAdapterEncoder enc = new MixedAdapterEncoder(base);
        time("mixed all-null", reps, () -> enc.embed(texts, nulls));
    }
}

package io.lamina.engine.training;

import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.model.BaseModel;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

public class NanRepro {
    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "none";
        long[] seeds = args.length > 1 ? java.util.Arrays.stream(args[1].split(",")).mapToLong(Long::parseLong).toArray() : new long[]{42};
        int task = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        BaseModel base = BaseModel.miniLm();
        List<SupersenseStream.TaskData> tasks = SupersenseStream.build(5, 5, 120, 30, 7);
        SupersenseStream.TaskData t = tasks.get(task);
        System.out.println(t.labels() + " n=" + t.train().size());
        LoraSpec lora = new LoraSpec(8, 16f, 0.1f, List.of("query", "value"));
        Adapter other = null;
        if (mode.equals("adapter")) {
            other = new LoraTrainer(base).train(new TrainingRequest(tasks.get(0).train().subList(0, 64), tasks.get(0).labels(), lora,
                    TrainingSpec.defaults().withEpochs(1), null, null, null, Map.of()));
        }
        final Adapter bg = other;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger calls = new AtomicInteger();
        Thread th = null;
        if (!mode.equals("none")) {
            List<String> texts = t.test().stream().map(LabeledText::text).limit(40).toList();
            th = new Thread(() -> {
                while (!stop.get()) {
                    float[][] e = base.embed(texts, (calls.get() % 2 == 0) ? null : bg);
                    for (float[] r : e) for (float v : r) if (!Float.isFinite(v)) System.out.println("BG NaN");
                    calls.incrementAndGet();
                }
            });
            th.setDaemon(true);
            th.start();
        }
        for (long seed : seeds) {
            long t0 = System.nanoTime();
            StringBuilder sb = new StringBuilder();
            try {
                new LoraTrainer(base).train(new TrainingRequest(t.train(), t.labels(), lora, TrainingSpec.defaults().withSeed(seed), null,
                        p -> sb.append(String.format("%d:%.9g ", p.step(), p.loss())), null, Map.of()));
                System.out.println("seed " + seed + " OK " + (System.nanoTime() - t0) / 1e9 + "s bg=" + calls.get() + " " + sb);
            } catch (Exception e) {
                System.out.println("seed " + seed + " FAIL " + e + " bg=" + calls.get() + " " + sb);
            }
        }
        stop.set(true);
    }
}

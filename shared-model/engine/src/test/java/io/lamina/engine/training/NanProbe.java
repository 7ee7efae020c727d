package io.lamina.engine.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.Dropout;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.model.BaseModel;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** probe: does a concurrent embed() change (a) dropout masks after a reseed, (b) a no-dropout forward? */
public class NanProbe {
    public static void main(String[] args) throws Exception {
        String mode = args[0];
        int iters = Integer.parseInt(args[1]);
        BaseModel base = BaseModel.miniLm();
        var tasks = SupersenseStream.build(5, 5, 120, 30, 7);
        LoraSpec lora = new LoraSpec(8, 16f, 0.1f, List.of("query", "value"));
        Adapter bg = mode.equals("adapter") ? new LoraTrainer(base).train(new TrainingRequest(tasks.get(0).train().subList(0, 64), tasks.get(0).labels(), lora,
                TrainingSpec.defaults().withEpochs(1), null, null, null, Map.of())) : null;
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger calls = new AtomicInteger();
        List<String> texts = tasks.get(2).test().stream().map(LabeledText::text).limit(40).toList();
        if (!mode.equals("none")) {
            Thread th = new Thread(() -> {
                while (!stop.get()) { base.embed(texts, bg); calls.incrementAndGet(); }
            });
            th.setDaemon(true);
            th.start();
        }
        try (NDManager m = base.manager().newSubManager()) {
            NDArray x = m.ones(new Shape(4000, 384));
            float[] ref = null;
            int bad = 0;
            for (int i = 0; i < iters; i++) {
                try (NDScope s = new NDScope()) {
                    Engine.getInstance().setRandomSeed(1234);
                    for (int k = 0; k < 5; k++) Dropout.dropout(x, 0.1f, true);
                    float[] got = Dropout.dropout(x, 0.1f, true).singletonOrThrow().toFloatArray();
                    if (ref == null) ref = got;
                    else if (!Arrays.equals(ref, got)) bad++;
                }
                Thread.sleep(3);
            }
            System.out.println("dropout mismatches " + bad + "/" + iters + " bg=" + calls.get());
        }
        stop.set(true);
    }
}

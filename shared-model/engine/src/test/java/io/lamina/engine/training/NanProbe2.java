package io.lamina.engine.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.lora.LoraInit;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.tensor.HostTensor;

import java.util.*;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/** probe: is forward+backward (no dropout) bitwise reproducible while another thread embeds? */
public class NanProbe2 {
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
        List<long[]> ids = base.tokenize(tasks.get(2).train().stream().map(LabeledText::text).limit(32).toList(), 64);
        Map<String, HostTensor> w = LoraInit.initialWeights(lora, 6, 384, 1);
        Random r = new Random(3);
        try (NDManager m = base.manager().newSubManager()) {
            NDArray[][] a = new NDArray[6][2], b = new NDArray[6][2];
            List<NDArray> params = new ArrayList<>();
            for (int l = 0; l < 6; l++) for (int t = 0; t < 2; t++) {
                String mod = lora.targetModules().get(t);
                a[l][t] = m.create(w.get(LoraSpec.peftKey(l, mod, 'A')).data(), new Shape(8, 384));
                float[] bb = new float[384 * 8];
                for (int i = 0; i < bb.length; i++) bb[i] = (float) r.nextGaussian() * 0.02f;
                b[l][t] = m.create(bb, new Shape(384, 8));
                a[l][t].setRequiresGradient(true);
                b[l][t].setRequiresGradient(true);
                params.add(a[l][t]); params.add(b[l][t]);
            }
            LoraArrays la = new LoraArrays(lora, a, b);
            float[] ref = null;
            int bad = 0;
            for (int i = 0; i < iters; i++) {
                float[] got;
                try (NDScope s = new NDScope()) {
                    try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                        NDArray e = base.encode(m, ids, la, false);
                        gc.backward(e.sum());
                    }
                    boolean g = Autograd.disable();
                    NDArray all = null;
                    for (NDArray p : params) { NDArray gr = p.getGradient().flatten(); all = all == null ? gr : all.concat(gr); }
                    got = all.toFloatArray();
                    for (NDArray p : params) ai.djl.pytorch.jni.JniUtils.zeroGrad((ai.djl.pytorch.engine.PtNDArray) p);
                    Autograd.restore(g);
                }
                if (ref == null) ref = got;
                else if (!Arrays.equals(ref, got)) {
                    bad++;
                    double md = 0; int nan = 0;
                    for (int k = 0; k < got.length; k++) { if (!Float.isFinite(got[k])) nan++; md = Math.max(md, Math.abs(got[k] - ref[k])); }
                    System.out.println("iter " + i + " maxdiff " + md + " nonfinite " + nan);
                }
            }
            System.out.println("grad mismatches " + bad + "/" + iters + " bg=" + calls.get());
        }
        stop.set(true);
    }
}

package io.lamina.engine.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.bottleneck.BottleneckSpec;
import io.lamina.engine.adapter.lora.LoraInit;
import io.lamina.engine.adapter.ia3.Ia3Spec;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.lora.LoraVariant;
import io.lamina.engine.adapter.mora.RankGate;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.training.LoraTrainer;
import io.lamina.engine.training.TrainingRequest;
import io.lamina.engine.training.PrincipalInitialisation;
import io.lamina.engine.adapter.prompt.PromptTuningSpec;
import io.lamina.engine.adapter.bottleneck.MosaSettings;
import io.lamina.engine.adapter.lora.PrincipalInit;
import io.lamina.engine.adapter.lokr.LokrSpec;
import io.lamina.engine.adapter.lokr.SokaSpec;
import io.lamina.engine.training.TrainingSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Adapter types on the MiniLM base, one WordNet task (5 noun supersenses, 120 train / 30 test glosses
 * per class, seed 7), the platform's training budget (3 epochs, batch 32, lr 1e-3): trainable
 * parameters, training examples/s and tokens/s, the process's resident memory after the run, test
 * accuracy, next to a head-only baseline (class means on the frozen base). Also the encoder's
 * achieved FLOP/s while training against a measured fp32 matmul peak of this machine. Not a test:
 * <pre>
 * ./mvnw -q -o -pl shared-model/engine exec:java -Dexec.mainClass=io.lamina.engine.bench.AdapterTrainingBenchmark -Dexec.classpathScope=test
 * </pre>
 * FLOPs are counted, not profiled: per real (non-padding) token, the encoder's matmuls cost
 * {@code 2 * layers * (12 H^2 + 2 L H)} in the forward (Q, K, V, attention output and the 4H FFN, plus
 * attention scores and values over the batch's padded length L); a training step adds the backward
 * through the frozen encoder to the adapters, about one more forward (no weight gradients for the
 * frozen matrices), so training is counted as 2 forwards. Padding tokens are not counted, so the
 * figure is what the useful work achieves.
 */
public final class AdapterTrainingBenchmark {
    private AdapterTrainingBenchmark() {
    }

    record Row(String type, long parameters, double examplesPerSecond, double tokensPerSecond, double gflops,
               long rssMb, double accuracy) {
    }

    public static void main(String[] args) throws Exception {
        BaseModel base = BaseModel.miniLm();
        SupersenseStream.TaskData task = SupersenseStream.build(1, 5, 120, 30, 7).get(0);
        TrainingSpec spec = new TrainingSpec(3, 32, 1e-3f, 0.01f, 0.1f, 1f, 42L, 64, 0);
        List<long[]> ids = base.tokenize(task.train().stream().map(LabeledText::text).toList(), spec.maxLength());
        long tokens = ids.stream().mapToLong(a -> a.length).sum();
        double avgLen = (double) tokens / ids.size();
        int h = base.hiddenSize();
        double flopsPerToken = 2.0 * base.layers() * (12.0 * h * h + 2.0 * avgLen * h);
        // the peak is measured before and after the rows and the higher one kept: a single measurement on a shared
        // host can come out low, which would flatter every row's share of it
        double peakBefore = matmulPeakGflops(base);

        LoraTrainer trainer = new LoraTrainer(base);
        List<Row> rows = new ArrayList<>();
        // head-only: the frozen base with class-mean prototypes (a LoRA with B = 0 embeds as the base does)
        LoraSpec zeroSpec = LoraSpec.defaults();
        Adapter zero = Adapter.lora(zeroSpec, LoraInit.initialWeights(zeroSpec, base.layers(), h, 1), null, base.id(), base.fingerprint(),
                new AdapterProvenance("benchmark", Map.of()));
        long t0 = System.nanoTime();
        PrototypeHead head = trainer.prototypeHead(zero, task.train(), task.labels(), spec.maxLength(), 1);
        double s0 = (System.nanoTime() - t0) / 1e9;
        Adapter headOnly = zero.withHead(head);
        rows.add(new Row("head only (class means)", (long) head.labels().size() * h, task.train().size() / s0,
                tokens / s0, 0, rssMb(), accuracy(base, headOnly, task.test())));

        // each row: its name and the training job it runs (same data, budget and learning rate for all)
        record Variant(String name, java.util.function.Supplier<TrainingRequest> request, MosaSettings mosa) {
            Variant(String name, java.util.function.Supplier<TrainingRequest> request) {
                this(name, request, null);
            }
        }
        java.util.function.Function<LoraSpec, TrainingRequest> lora = l -> new TrainingRequest(task.train(), task.labels(), l, spec, null, null, null, Map.of());
        // CorDA-KPM keeps what another task uses: the next WordNet task's training texts stand for the stream's earlier tasks
        List<String> otherTask = SupersenseStream.build(2, 5, 120, 30, 7).get(1).train().stream().map(LabeledText::text).toList();
        List<String> ownTexts = task.train().stream().map(LabeledText::text).toList();
        List<Variant> variants = List.of(
                new Variant("LoRA r=8 query,value", () -> lora.apply(LoraSpec.defaults())),
                new Variant("LoRA r=8 query,key,value", () -> lora.apply(new LoraSpec(8, 16f, 0.1f, List.of("query", "key", "value")))),
                new Variant("LoRA r=16 query,value", () -> lora.apply(new LoraSpec(16, 32f, 0.1f, List.of("query", "value")))),
                new Variant("rsLoRA r=8 query,value", () -> lora.apply(new LoraSpec(8, 16f / (float) Math.sqrt(8), 0.1f, List.of("query", "value"), true))),
                new Variant("MoRA 8 experts query,value", () -> new TrainingRequest(task.train(), task.labels(), LoraSpec.defaults(), spec, null, null, null,
                        Map.of(), null, RankGate.defaults())),
                new Variant("DoRA r=8 query,value", () -> lora.apply(LoraSpec.defaults().withVariant(LoraVariant.DORA))),
                new Variant("LoRA r=8 all six linears", () -> lora.apply(new LoraSpec(8, 16f, 0.1f, io.lamina.engine.adapter.BertModules.MODULES))),
                new Variant("PiSSA r=8 query,value (stored as r=16)", () -> lora.apply(LoraSpec.defaults()).withPrincipalInit(PrincipalInitialisation.pissa())),
                new Variant("CorDA-IPM r=8 query,value (own texts)", () -> lora.apply(LoraSpec.defaults())
                        .withPrincipalInit(new PrincipalInitialisation(PrincipalInit.Method.CORDA_IPM, ownTexts))),
                new Variant("CorDA-KPM r=8 query,value (another task's texts)", () -> lora.apply(LoraSpec.defaults())
                        .withPrincipalInit(new PrincipalInitialisation(PrincipalInit.Method.CORDA_KPM, otherTask))),
                // PEFT's lr for (IA)^3 is higher than LoRA's; here the same budget and lr as every row
                new Variant("(IA)^3 key,value,ffn (PEFT BERT defaults)", () -> TrainingRequest.of(task.train(), task.labels(), Ia3Spec.defaults(),
                        spec, null, null, null, Map.of())),
                new Variant("LoKr r=8 query,value (PEFT defaults)", () -> TrainingRequest.of(task.train(), task.labels(),
                        LokrSpec.of(List.of("query", "value")), spec, null, null, null, Map.of())),
                new Variant("SoKA query,value (KPSVD init, energy 0.9)", () -> TrainingRequest.of(task.train(), task.labels(),
                        SokaSpec.of(List.of("query", "value")), spec, null, null, null, Map.of())),
                new Variant("bottleneck Pfeiffer sequential b=24", () -> TrainingRequest.bottleneck(task.train(), task.labels(),
                        BottleneckSpec.defaults(), spec, null, null, null, Map.of())),
                new Variant("bottleneck Houlsby sequential b=24", () -> TrainingRequest.bottleneck(task.train(), task.labels(),
                        new BottleneckSpec(BottleneckSpec.Architecture.HOULSBY, BottleneckSpec.Placement.SEQUENTIAL, 16), spec, null, null, null, Map.of())),
                new Variant("bottleneck Houlsby parallel b=24", () -> TrainingRequest.bottleneck(task.train(), task.labels(),
                        new BottleneckSpec(BottleneckSpec.Architecture.HOULSBY, BottleneckSpec.Placement.PARALLEL, 16), spec, null, null, null, Map.of())),
                new Variant("prompt tuning, 8 virtual tokens (random init)", () -> TrainingRequest.of(task.train(), task.labels(),
                        PromptTuningSpec.defaults(), spec, null, null, null, Map.of())),
                new Variant("MoSA Pfeiffer b=24, 4 up-experts, consistency KL 1.0", () -> TrainingRequest.bottleneck(task.train(), task.labels(),
                        BottleneckSpec.defaults(), spec, null, null, null, Map.of()), MosaSettings.defaults()));
        for (Variant v : variants) {
            long start = System.nanoTime();
            Adapter a = trainer.train(v.request().get(), v.mosa());
            double seconds = (System.nanoTime() - start) / 1e9;
            double tps = tokens * spec.epochs() / seconds;
            rows.add(new Row(v.name(), a.trainableParameters(), task.train().size() * spec.epochs() / seconds, tps,
                    tps * flopsPerToken * 2 / 1e9, rssMb(), accuracy(base, a, task.test())));
        }
        // LT-SFT: 1 epoch of full fine-tuning, then 2 sparse epochs (3 in all, as every row); diffs at 0.1 x lr
        for (io.lamina.engine.adapter.sft.SftSpec sft : List.of(io.lamina.engine.adapter.sft.SftSpec.defaults().withPhases(1, 2),
                io.lamina.engine.adapter.sft.SftSpec.defaults().withModules(List.of("query", "key", "value")).withPhases(1, 2))) {
            long start = System.nanoTime();
            Adapter a = new io.lamina.engine.training.SparseFineTuner(base).train(
                    new io.lamina.engine.training.SparseFineTuner.Request(task.train(), task.labels(), sft, spec));
            double seconds = (System.nanoTime() - start) / 1e9;
            double tps = tokens * 3 / seconds;
            rows.add(new Row("LT-SFT 1% of " + (sft.targetModules().size() == 6 ? "all six linears" : String.join(",", sft.targetModules())) + " (1 full + 2 sparse epochs)",
                    a.trainableParameters(), task.train().size() * 3 / seconds, tps, tps * flopsPerToken * 2 / 1e9, rssMb(), accuracy(base, a, task.test())));
        }

        double peak = Math.max(peakBefore, matmulPeakGflops(base));
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "One WordNet task (5 classes, %d train / %d test), 3 epochs, batch 32; %d cores; "
                        + "measured fp32 matmul peak %.0f GFLOP/s (2048x2048 DJL matmul, best of 10, before and after the rows); encoder %.1f MFLOP per token forward.%n%n",
                task.train().size(), task.test().size(), Runtime.getRuntime().availableProcessors(), peak, flopsPerToken / 1e6));
        b.append("| adapter | trainable params | train examples/s | train tokens/s | encoder GFLOP/s (% of peak) | RSS after (MB) | test accuracy |\n");
        b.append("|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "| %s | %,d | %.0f | %.0f | %s | %d | %.1f %% |%n", r.type(), r.parameters(),
                    r.examplesPerSecond(), r.tokensPerSecond(),
                    r.gflops() == 0 ? "– (no training)" : String.format(Locale.ROOT, "%.1f (%.0f %%)", r.gflops(), 100 * r.gflops() / peak),
                    r.rssMb(), 100 * r.accuracy()));
        }
        System.out.println(b);
        Path out = Path.of("bench", "adapter-types.md");
        try {
            Files.createDirectories(out.getParent());
            Files.writeString(out, b.toString());
        } catch (Exception e) {
            System.err.println("could not write " + out + ": " + e);
        }
    }

    /** Best of 5 timed 2048×2048×2048 fp32 matmuls (after a warm-up), in GFLOP/s. */
    static double matmulPeakGflops(BaseModel base) {
        int n = 2048;
        try (NDManager m = base.manager().newSubManager()) {
            NDArray a = m.randomNormal(new Shape(n, n)), b = m.randomNormal(new Shape(n, n));
            a.matMul(b).close();
            double best = 0;
            for (int i = 0; i < 10; i++) {
                long t = System.nanoTime();
                NDArray c = a.matMul(b);
                c.toFloatArray();
                double s = (System.nanoTime() - t) / 1e9;
                c.close();
                best = Math.max(best, 2.0 * n * n * n / s / 1e9);
            }
            return best;
        }
    }

    static long rssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024;
            }
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }

    static double accuracy(BaseModel base, Adapter adapter, List<LabeledText> test) {
        return io.lamina.engine.training.RankSweep.fractionCorrect(
                adapter.head().classify(base.embed(test.stream().map(LabeledText::text).toList(), adapter)), test);
    }
}

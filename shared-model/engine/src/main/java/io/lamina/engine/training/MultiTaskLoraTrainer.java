package io.lamina.engine.training;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.adapter.AdapterProvenance;
import io.lamina.engine.adapter.lora.LoraInit;
import io.lamina.engine.adapter.lora.LoraSpec;
import io.lamina.engine.adapter.lora.MtLoraSpec;
import io.lamina.engine.continual.TaskDescriptor;
import io.lamina.engine.head.PrototypeHead;
import io.lamina.engine.model.Autograd;
import io.lamina.engine.model.BaseModel;
import io.lamina.engine.model.LoraArrays;
import io.lamina.engine.tensor.HostTensor;
import io.lamina.engine.training.AdamW.Param;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * MTLoRA ({@link MtLoraSpec}, mode {@code matrixv2}) on a frozen {@link BaseModel}: one job over several labelled
 * tasks trains a task-agnostic LoRA shared by all, a task-specific LoRA and a {@link PrototypeHead} per task. Every
 * step takes one batch of every task (each task cycles through its own shuffled epochs; an epoch is as many steps as
 * the largest task needs) and the loss is the sum of the tasks' mean cross-entropies (MTLoRA sums its task losses).
 * Task {@code t}'s forward is the plain LoRA {@link MtLoraSpec#exportSpec()} with factors {@code [A_sh; A_t]},
 * {@code [B_sh | B_t·(s_t/s)]} built inside the step's recording, so backward reaches both parts, and the task's
 * exported adapter is that same LoRA: an ordinary LoRA adapter every other part of Lamina handles.
 *
 * <p>Same optimiser as {@link LoraTrainer} (AdamW, warm-up then cosine, global-norm clip, weight decay on the LoRA
 * factors only). No checkpoints, validation or gradient accumulation: {@code checkpointEvery},
 * {@code validationFraction} and {@code gradientAccumulation} must be off.
 */
public final class MultiTaskLoraTrainer {
    private static final Logger log = LoggerFactory.getLogger(MultiTaskLoraTrainer.class);
    private final BaseModel base;

    public MultiTaskLoraTrainer(BaseModel base) {
        this.base = base;
    }

    /** Trains the tasks jointly; returns one plain LoRA adapter per task, in task order. */
    public List<Adapter> train(List<TaskData> tasks, MtLoraSpec spec, TrainingSpec ts) {
        return train(tasks, spec, ts, ProgressListener.NONE);
    }

    /** {@link #train(List, MtLoraSpec, TrainingSpec)}; {@code listener} gets the summed loss of every step. */
    public List<Adapter> train(List<TaskData> tasks, MtLoraSpec spec, TrainingSpec ts, ProgressListener listener) {
        if (tasks == null || tasks.size() < 2) throw new IllegalArgumentException("MTLoRA trains two or more tasks together");
        if (tasks.stream().map(TaskData::name).distinct().count() != tasks.size()) throw new IllegalArgumentException("task names must be distinct");
        if (ts.gradientAccumulation() != 1 || ts.validationFraction() > 0 || ts.checkpointEvery() != 0) {
            throw new IllegalArgumentException("multi-task LoRA training has no gradient accumulation, validation or checkpoints");
        }
        int tasksN = tasks.size();
        List<List<long[]>> ids = new ArrayList<>();
        List<int[]> ys = new ArrayList<>();
        int stepsPerEpoch = 1;
        for (TaskData t : tasks) {
            Map<String, Integer> index = new HashMap<>();
            for (int c = 0; c < t.labels().size(); c++) index.put(t.labels().get(c), c);
            ids.add(base.tokenize(t.train().stream().map(LabeledText::text).toList(), ts.maxLength()));
            ys.add(t.train().stream().mapToInt(x -> index.get(x.label())).toArray());
            stepsPerEpoch = Math.max(stepsPerEpoch, (t.train().size() + ts.batchSize() - 1) / ts.batchSize());
        }
        int totalSteps = ts.epochs() * stepsPerEpoch;
        int warmupSteps = (int) Math.ceil(ts.warmupRatio() * totalSteps);
        // B = 0 at init: every task's model is the base model, so its head starts at the base's class means
        List<float[][]> baseEmbeddings = new ArrayList<>();
        List<float[][]> basePrototypes = new ArrayList<>();
        for (int t = 0; t < tasksN; t++) {
            baseEmbeddings.add(base.embedTokens(ids.get(t), null, null));
            basePrototypes.add(classMeans(baseEmbeddings.get(t), ys.get(t), tasks.get(t).labels().size(), ts.seed()));
        }

        try (NDManager mgr = base.manager().newSubManager()) {
            mgr.setName("mtlora-trainer");
            Model model = Model.fresh(mgr, base, spec, tasksN, ts.seed(), ts.weightDecay());
            Param[] heads = new Param[tasksN];
            for (int t = 0; t < tasksN; t++) {
                float[][] p = basePrototypes.get(t);
                float[] flat = new float[p.length * base.hiddenSize()];
                for (int c = 0; c < p.length; c++) System.arraycopy(p[c], 0, flat, c * base.hiddenSize(), base.hiddenSize());
                heads[t] = AdamW.param(mgr, "head." + t, new HostTensor(new long[]{p.length, base.hiddenSize()}, flat), null, null, 0f);
            }
            List<Param> params = new ArrayList<>(model.all());
            params.addAll(List.of(heads));
            log.info("training MTLoRA (shared r={}, task r={} on the last {} layers' {}) on {} tasks: {} steps on {}",
                    spec.sharedRank(), spec.taskRank(), spec.taskLayers(), spec.taskModules(), tasksN, totalSteps, base.device());

            int[] perTaskSteps = new int[tasksN];
            for (int t = 0; t < tasksN; t++) perTaskSteps[t] = (ids.get(t).size() + ts.batchSize() - 1) / ts.batchSize();
            int[][][] cached = new int[tasksN][][];
            int[] cachedEpoch = new int[tasksN];
            java.util.Arrays.fill(cachedEpoch, -1);
            double[] epochSum = new double[tasksN];
            int epochCount = 0;
            float[] lastEpochMean = new float[tasksN];
            for (int step = 0; step < totalSteps; step++) {
                if (step % stepsPerEpoch == 0) {
                    java.util.Arrays.fill(epochSum, 0);
                    epochCount = 0;
                }
                int[][] batches = new int[tasksN][];
                for (int t = 0; t < tasksN; t++) {
                    int epoch = step / perTaskSteps[t];
                    if (epoch != cachedEpoch[t]) {
                        cached[t] = LoraTrainer.epochBatches(ids.get(t), ts.seed() + 7919L * t, epoch, ts.batchSize());
                        cachedEpoch[t] = epoch;
                    }
                    batches[t] = cached[t][step % perTaskSteps[t]];
                }
                float lr = LoraTrainer.learningRate(step, totalSteps, warmupSteps, ts.learningRate());
                float[] losses;
                synchronized (Autograd.STEP_LOCK) {
                    losses = step(mgr, model, heads, ids, ys, tasks, batches, step, lr, ts, params);
                }
                float sum = 0;
                for (int t = 0; t < tasksN; t++) {
                    if (!Float.isFinite(losses[t])) throw new IllegalStateException("training diverged: task " + tasks.get(t).name() + " loss " + losses[t] + " at step " + step);
                    epochSum[t] += losses[t];
                    sum += losses[t];
                }
                epochCount++;
                for (int t = 0; t < tasksN; t++) lastEpochMean[t] = (float) (epochSum[t] / epochCount);
                listener.onProgress(new TrainingProgress(step + 1, totalSteps, step / stepsPerEpoch, sum, 0f));
            }

            List<Adapter> out = new ArrayList<>();
            LoraSpec export = spec.exportSpec();
            for (int t = 0; t < tasksN; t++) {
                TaskData task = tasks.get(t);
                PrototypeHead head = new PrototypeHead(task.labels(), HostTensor.of(heads[t].value()).normalisedRows(), LoraTrainer.HEAD_SCALE,
                        basePrototypes.get(t));
                Map<String, String> d = new LinkedHashMap<>();
                d.put("training-method", "mtlora");
                d.put("mtlora-mode", "matrixv2");
                d.put("mtlora-task", task.name());
                d.put("mtlora-other-tasks", String.join(",", tasks.stream().map(TaskData::name).filter(n -> !n.equals(task.name())).toList()));
                d.put("mtlora-shared-rank", Integer.toString(spec.sharedRank()));
                d.put("mtlora-task-rank", Integer.toString(spec.taskRank()));
                d.put("mtlora-shared-scale", Float.toString(spec.sharedScale()));
                d.put("mtlora-task-scale", Float.toString(spec.taskScale()));
                d.put("mtlora-task-layers", Integer.toString(spec.taskLayers()));
                d.put("mtlora-task-modules", String.join(",", spec.taskModules()));
                d.put("seed", Long.toString(ts.seed()));
                d.put("steps", Integer.toString(totalSteps));
                d.put("epochs", Integer.toString(ts.epochs()));
                d.put("train-examples", Integer.toString(task.train().size()));
                d.put("final-loss", Float.toString(lastEpochMean[t]));
                d.put("lr", Float.toString(ts.learningRate()));
                d.put("device", base.device());
                Adapter a = Adapter.lora(export, model.exported(t), head, base.id(), base.fingerprint(), new AdapterProvenance(AdapterProvenance.TRAINED, d));
                if (task.train().size() >= 4) a = a.withDescriptor(TaskDescriptor.fit(baseEmbeddings.get(t), TaskDescriptor.DEFAULT_COMPONENTS));
                out.add(a);
            }
            log.info("MTLoRA done: {} steps, final epoch losses {}", totalSteps, java.util.Arrays.toString(lastEpochMean));
            return out;
        }
    }

    /** One forward of every task on its batch, backward of the summed loss, one AdamW update; the tasks' losses. */
    private float[] step(NDManager mgr, Model model, Param[] heads, List<List<long[]>> ids, List<int[]> ys, List<TaskData> tasks,
                         int[][] batches, int step, float lr, TrainingSpec ts, List<Param> params) {
        int tasksN = heads.length;
        NDArray[] losses = new NDArray[tasksN];
        float[] values = new float[tasksN];
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            Engine.getInstance().setRandomSeed((int) ((ts.seed() * 0x9E3779B97F4A7C15L + step) >>> 33));
            try (GradientCollector collector = Engine.getInstance().newGradientCollector()) {
                NDArray total = null;
                for (int t = 0; t < tasksN; t++) {
                    List<long[]> batchIds = new ArrayList<>();
                    int[] labels = new int[batches[t].length];
                    for (int i = 0; i < labels.length; i++) {
                        batchIds.add(ids.get(t).get(batches[t][i]));
                        labels[i] = ys.get(t)[batches[t][i]];
                    }
                    NDArray emb = base.encode(mgr, batchIds, model.arrays(t), true);
                    losses[t] = LoraTrainer.headLoss(mgr, emb, heads[t].value(), labels, tasks.get(t).labels().size());
                    total = total == null ? losses[t] : total.add(losses[t]);
                }
                collector.backward(total);
            }
            boolean grad = Autograd.disable();
            try {
                for (int t = 0; t < tasksN; t++) values[t] = losses[t].getFloat();
                AdamW.update(params, step, lr, ts.maxGradNorm());
            } finally {
                Autograd.restore(grad);
            }
        }
        return values;
    }

    private static float[][] classMeans(float[][] emb, int[] y, int classes, long seed) {
        int hidden = emb[0].length;
        float[][] sums = new float[classes][hidden];
        int[] counts = new int[classes];
        for (int i = 0; i < emb.length; i++) {
            counts[y[i]]++;
            for (int j = 0; j < hidden; j++) sums[y[i]][j] += emb[i][j];
        }
        SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
        for (int c = 0; c < classes; c++) {
            if (counts[c] == 0) for (int j = 0; j < hidden; j++) sums[c][j] = (float) random.nextGaussian();
        }
        return new HostTensor(new long[]{classes, hidden}, flatten(sums)).normalisedRows();
    }

    private static float[] flatten(float[][] rows) {
        float[] out = new float[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) System.arraycopy(rows[i], 0, out, i * rows[0].length, rows[0].length);
        return out;
    }

    /**
     * The trainable factors of one MTLoRA model: TA-LoRA's {@code A_sh [r_sh, in]}, {@code B_sh [out, r_sh]} on every
     * target of every layer and, per task, TS-LoRA's {@code A_t [r_t, in]}, {@code B_t [out, r_t]} where
     * {@link MtLoraSpec#hasTaskLora} places them. Keys: {@code shared.<peftKey>} and {@code task.<t>.<peftKey>}.
     */
    static final class Model {
        private final BaseModel base;
        private final MtLoraSpec spec;
        private final LoraSpec export;
        private final int tasks;
        private final Map<String, Param> params = new TreeMap<>();

        private Model(BaseModel base, MtLoraSpec spec, int tasks) {
            this.base = base;
            this.spec = spec;
            this.export = spec.exportSpec();
            this.tasks = tasks;
        }

        /** MTLoRA's init: A Kaiming-uniform (PEFT's bound, seeded; each task its own seed), B = 0. */
        static Map<String, HostTensor> initialWeights(BaseModel base, MtLoraSpec spec, int tasks, long seed) {
            Map<String, HostTensor> out = new TreeMap<>();
            int layers = base.layers();
            LoraInit.initialWeights(spec.sharedSpec(), layers, base.hiddenSize(), base.intermediateSize(), seed)
                    .forEach((k, v) -> out.put("shared." + k, v));
            for (int t = 0; t < tasks; t++) {
                Map<String, HostTensor> ts = LoraInit.initialWeights(spec.taskSpec(), layers, base.hiddenSize(), base.intermediateSize(),
                        seed + 0x9E3779B9L * (t + 1));
                for (int l = 0; l < layers; l++) {
                    for (String m : spec.taskModules()) {
                        if (!spec.hasTaskLora(l, m, layers)) continue;
                        for (char f : new char[]{'A', 'B'}) out.put(taskKey(t, LoraSpec.peftKey(l, m, f)), ts.get(LoraSpec.peftKey(l, m, f)));
                    }
                }
            }
            return out;
        }

        static Model fresh(NDManager mgr, BaseModel base, MtLoraSpec spec, int tasks, long seed, float decay) {
            return of(mgr, base, spec, tasks, initialWeights(base, spec, tasks, seed), decay);
        }

        /** A model on {@code weights} (keyed as {@link #initialWeights}). */
        static Model of(NDManager mgr, BaseModel base, MtLoraSpec spec, int tasks, Map<String, HostTensor> weights, float decay) {
            Model m = new Model(base, spec, tasks);
            for (Map.Entry<String, HostTensor> e : weights.entrySet()) {
                m.params.put(e.getKey(), AdamW.param(mgr, e.getKey(), e.getValue(), null, null, decay));
            }
            return m;
        }

        static String taskKey(int task, String peftKey) {
            return "task." + task + "." + peftKey;
        }

        List<Param> all() { return new ArrayList<>(params.values()); }

        Map<String, Param> params() { return params; }

        /**
         * Task {@code t}'s factors for {@link BaseModel#encode}: {@code [A_sh; A_t]} and {@code [B_sh·(s_sh/s) | B_t·(s_t/s)]}
         * under {@link MtLoraSpec#exportSpec()} (scaling {@code s}), or TA-LoRA alone where no TS-LoRA is placed.
         * Built from the parameters each call: inside a recording, backward reaches both parts.
         */
        LoraArrays arrays(int t) {
            int layers = base.layers();
            List<String> targets = export.targetModules();
            NDArray[][] a = new NDArray[layers][targets.size()];
            NDArray[][] b = new NDArray[layers][targets.size()];
            NDManager mgr = params.values().iterator().next().value().getManager();
            float s = export.scaling();
            for (int l = 0; l < layers; l++) {
                for (int i = 0; i < targets.size(); i++) {
                    String m = targets.get(i);
                    NDArray as = params.get("shared." + LoraSpec.peftKey(l, m, 'A')).value();
                    NDArray bs = scaled(mgr, params.get("shared." + LoraSpec.peftKey(l, m, 'B')).value(), spec.sharedScale() / s);
                    if (!spec.hasTaskLora(l, m, layers)) {
                        a[l][i] = as;
                        b[l][i] = bs;
                        continue;
                    }
                    NDArray at = params.get(taskKey(t, LoraSpec.peftKey(l, m, 'A'))).value();
                    NDArray bt = scaled(mgr, params.get(taskKey(t, LoraSpec.peftKey(l, m, 'B'))).value(), spec.taskScale() / s);
                    a[l][i] = as.concat(at, 0);
                    b[l][i] = bs.concat(bt, 1);
                }
            }
            return new LoraArrays(export, a, b);
        }

        private static NDArray scaled(NDManager mgr, NDArray x, float c) {
            return c == 1f ? x : x.mul(Autograd.constant(mgr, c));
        }

        /**
         * Task {@code t}'s adapter weights as a plain LoRA of {@link MtLoraSpec#exportSpec()}: the same factors as
         * {@link #arrays}, with zero rows / columns for the task rank where no TS-LoRA is placed.
         */
        Map<String, HostTensor> exported(int t) {
            int layers = base.layers();
            float s = export.scaling();
            Map<String, HostTensor> out = new TreeMap<>();
            for (int l = 0; l < layers; l++) {
                for (String m : export.targetModules()) {
                    HostTensor as = HostTensor.of(params.get("shared." + LoraSpec.peftKey(l, m, 'A')).value());
                    HostTensor bs = times(HostTensor.of(params.get("shared." + LoraSpec.peftKey(l, m, 'B')).value()), spec.sharedScale() / s);
                    HostTensor at, bt;
                    if (spec.hasTaskLora(l, m, layers)) {
                        at = HostTensor.of(params.get(taskKey(t, LoraSpec.peftKey(l, m, 'A'))).value());
                        bt = times(HostTensor.of(params.get(taskKey(t, LoraSpec.peftKey(l, m, 'B'))).value()), spec.taskScale() / s);
                    } else {
                        at = HostTensor.zeros(spec.taskRank(), as.cols());
                        bt = HostTensor.zeros(bs.rows(), spec.taskRank());
                    }
                    out.put(LoraSpec.peftKey(l, m, 'A'), HostTensor.concatRows(as, at));
                    out.put(LoraSpec.peftKey(l, m, 'B'), HostTensor.concatColumns(bs, bt));
                }
            }
            return out;
        }

        private static HostTensor times(HostTensor x, float c) {
            if (c == 1f) return x;
            float[] d = x.data().clone();
            for (int i = 0; i < d.length; i++) d[i] *= c;
            return new HostTensor(x.shape(), d);
        }
    }
}

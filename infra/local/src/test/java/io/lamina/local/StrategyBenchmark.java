package io.lamina.local;

import com.fasterxml.jackson.databind.JsonNode;
import io.lamina.contracts.LabeledText;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.data.WordNetSupersenses.PartOfSpeech;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The strategy benchmark (not a test): every continual-learning strategy on two real WordNet
 * streams (noun supersenses, class-incremental; verb supersenses, class-incremental), each with
 * 3 seeds (the seed picks which classes form which task and seeds training). Everything goes
 * through the public API exactly as a user would: {@code POST /api/streams} with the strategy,
 * {@code POST /api/datasets} per task, then {@code GET /api/streams/{id}} for the metrics the
 * evaluation service computed. Streams run one after another, so wall time is the stream's own.
 * Prints a markdown table (mean ± std over seeds) and writes it to {@code bench/strategies.md}.
 *
 * <pre>./mvnw -q -pl infra/local exec:java -Dexec.mainClass=io.lamina.local.StrategyBenchmark -Dexec.classpathScope=test [-Dexec.args="3 60 20"]</pre>
 * args: seeds, train examples per class, test examples per class, and optionally a comma-separated
 * subset of the strategies (all by default).
 */
public final class StrategyBenchmark {
    static final List<String> STRATEGIES = List.of("sequential", "per-task-retrieval", "merge-after-task", "sema", "mora",
            "hypernetwork-warm-start", "joint");

    record StreamSpec(String name, PartOfSpeech pos, int tasks, int classesPerTask) {
    }

    static final List<StreamSpec> STREAMS = List.of(
            new StreamSpec("wordnet-nouns 4x4", PartOfSpeech.NOUN, 4, 4),
            new StreamSpec("wordnet-verbs 5x3", PartOfSpeech.VERB, 5, 3));

    record Run(double averageAccuracy, double forgetting, double bwt, double nfr, long parameters, double seconds) {
    }

    public static void main(String[] args) throws Exception {
        int seeds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int trainPerClass = args.length > 1 ? Integer.parseInt(args[1]) : 60;
        int testPerClass = args.length > 2 ? Integer.parseInt(args[2]) : 20;
        List<String> strategies = args.length > 3 ? List.of(args[3].split(",")) : STRATEGIES;
        Path home = Files.createTempDirectory("lamina-strategies");
        Map<String, List<Run>> results = new LinkedHashMap<>();
        try (EmbeddedStack stack = EmbeddedStack.start(home, StackPorts.free())) {
            StackClient api = new StackClient(stack.gatewayUrl(), stack.adminKey());
            for (StreamSpec spec : STREAMS) {
                for (int seed = 1; seed <= seeds; seed++) {
                    List<SupersenseStream.TaskData> tasks = SupersenseStream.build(spec.pos(), spec.tasks(), spec.classesPerTask(),
                            trainPerClass, testPerClass, seed);
                    for (String strategy : strategies) {
                        String streamId = (spec.pos().name().toLowerCase(Locale.ROOT) + "-" + strategy + "-s" + seed);
                        Run run = run(api, streamId, strategy, seed, tasks);
                        results.computeIfAbsent(spec.name() + "|" + strategy, k -> new ArrayList<>()).add(run);
                        System.out.printf(Locale.ROOT, "%-18s %-24s seed %d: acc %.1f%% forgetting %.1f bwt %.1f nfr %.1f%% params %,d wall %.0fs%n",
                                spec.name(), strategy, seed, 100 * run.averageAccuracy(), 100 * run.forgetting(), 100 * run.bwt(),
                                100 * run.nfr(), run.parameters(), run.seconds());
                    }
                }
            }
        }
        String table = table(results, seeds, trainPerClass, testPerClass);
        System.out.println();
        System.out.println(table);
        Path out = Path.of("bench", "strategies.md");
        try {
            Files.createDirectories(out.getParent());
            Files.writeString(out, table);
        } catch (IOException e) {
            System.err.println("could not write " + out + ": " + e);
        }
    }

    static Run run(StackClient api, String streamId, String strategy, int seed, List<SupersenseStream.TaskData> tasks) throws Exception {
        HttpResponse<String> created = api.post("/api/streams", Map.of("streamId", streamId,
                "policy", Map.of("strategy", strategy, "training", Map.of("seed", seed))));
        if (created.statusCode() != 201) throw new IllegalStateException("creating " + streamId + ": " + created.body());
        long start = System.nanoTime();
        for (SupersenseStream.TaskData t : tasks) {
            HttpResponse<String> r = api.post("/api/datasets", Map.of("streamId", streamId, "taskKey", t.taskKey(), "name", t.name(),
                    "description", t.description(), "labels", t.labels(), "train", rows(t.train()), "test", rows(t.test())));
            if (r.statusCode() != 202) throw new IllegalStateException("uploading " + streamId + "/" + t.taskKey() + ": " + r.body());
        }
        JsonNode done = api.awaitStream(streamId, Duration.ofMinutes(30), StackClient.finished(tasks.size()));
        double seconds = (System.nanoTime() - start) / 1e9;
        JsonNode metrics = done.path("metrics");
        JsonNode taskList = done.path("tasks");
        double nfr = 0;
        int compared = 0;
        for (int i = 1; i < taskList.size(); i++) {
            JsonNode f = taskList.get(i).path("compatibility").path("negativeFlipRate");
            if (f.isNumber()) {
                nfr += f.asDouble();
                compared++;
            }
        }
        long parameters = taskList.get(taskList.size() - 1).path("compatibility").path("trainableParameters").asLong();
        return new Run(metrics.path("averageAccuracy").asDouble(), metrics.path("averageForgetting").asDouble(),
                metrics.path("backwardTransfer").asDouble(), compared == 0 ? 0 : nfr / compared, parameters, seconds);
    }

    private static List<Map<String, String>> rows(List<LabeledText> examples) {
        return examples.stream().map(e -> Map.of("text", e.text(), "label", e.label())).toList();
    }

    static String table(Map<String, List<Run>> results, int seeds, int train, int test) {
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "Strategies, %d seeds, %d train / %d test examples per class, platform defaults (LoRA r=8 on query/value, 3 epochs, batch 32, lr 1e-3), mean ± std over seeds.%n%n", seeds, train, test));
        b.append("| stream | strategy | final avg acc % | avg forgetting (pts) | BWT (pts) | NFR % (mean over updates) | trainable params served | wall s |\n");
        b.append("|---|---|---|---|---|---|---|---|\n");
        for (Map.Entry<String, List<Run>> e : results.entrySet()) {
            String[] key = e.getKey().split("\\|");
            List<Run> runs = e.getValue();
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %,d | %.0f |%n", key[0], key[1],
                    meanStd(runs.stream().mapToDouble(r -> 100 * r.averageAccuracy()).toArray()),
                    meanStd(runs.stream().mapToDouble(r -> 100 * r.forgetting()).toArray()),
                    meanStd(runs.stream().mapToDouble(r -> 100 * r.bwt()).toArray()),
                    meanStd(runs.stream().mapToDouble(r -> 100 * r.nfr()).toArray()),
                    (long) runs.stream().mapToLong(Run::parameters).average().orElse(0),
                    runs.stream().mapToDouble(Run::seconds).average().orElse(0)));
        }
        return b.toString();
    }

    static String meanStd(double[] xs) {
        double mean = 0;
        for (double x : xs) mean += x;
        mean /= xs.length;
        double var = 0;
        for (double x : xs) var += (x - mean) * (x - mean);
        double std = xs.length > 1 ? Math.sqrt(var / (xs.length - 1)) : 0;
        return String.format(Locale.ROOT, "%.1f ± %.1f", mean, std);
    }
}

package io.lamina.local;

import com.fasterxml.jackson.databind.JsonNode;
import io.lamina.contracts.Json;
import io.lamina.contracts.Topics;
import io.lamina.engine.adapter.Adapter;
import io.lamina.engine.data.SupersenseStream;
import io.lamina.engine.io.PeftAdapterFormat;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipInputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The whole platform on real parts: a KRaft Kafka broker, Temporal's server on a local port,
 * PostgreSQL, DJL on the real MiniLM weights and every service, reached only as a user would —
 * the upstream Kafka topic and the gateway's REST API.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PlatformEndToEndTest {
    private static final String STREAM = "e2e-supersenses";
    /** Three class-incremental tasks of three WordNet supersenses: small, but every hop is real. */
    private static final DemoStream MINI = new DemoStream(STREAM, 3, 3, 16, 8, 11);

    @TempDir
    static Path home;
    private EmbeddedStack stack;
    private StackClient api;
    private final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    void start() throws Exception {
        // the default stream here keeps one adapter per task (its assertions count them); the
        // strategies test below creates streams with every other strategy
        stack = EmbeddedStack.start(home, StackPorts.free(),
                "--lamina.workflows.default-policy.strategy=per-task-retrieval",
                "--lamina.workflows.default-policy.training.epochs=2",
                "--lamina.workflows.default-policy.training.batch-size=16",
                "--lamina.workflows.default-policy.warm-start=true",
                // generators train once the first stream's 3 adapters are in, briefly (the benchmark measures them)
                "--lamina.hypernetwork.train-after=3",
                "--lamina.hypernetwork.episodes=12",
                "--lamina.hypernetwork.icm-steps=30",
                // live event streams notice clients that went away sooner than the default 20 s
                "--lamina.gateway.events-keep-alive=PT2S");
        api = new StackClient(stack.gatewayUrl(), stack.adminKey());
    }

    @AfterAll
    void stop() {
        if (stack != null) stack.close();
    }

    @Test
    @Order(1)
    void aStreamPublishedUpstreamIsTrainedRegisteredEvaluatedAndServed() throws Exception {
        MINI.publish(stack.kafkaBrokers());
        JsonNode stream = awaitStreamDone(3, Duration.ofMinutes(8));

        JsonNode tasks = stream.path("tasks");
        assertThat(tasks).hasSize(3);
        for (JsonNode task : tasks) {
            assertThat(task.path("status").asText()).isEqualTo("PROMOTED");
            assertThat(task.path("adapterId").asText()).isNotBlank();
        }

        JsonNode adapters = getJson("/api/adapters?streamId=" + STREAM).path("items");
        assertThat(adapters).hasSize(3);

        // Row i = after task i; task-agnostic: the router chooses among the adapters for each input.
        JsonNode matrix = stream.path("accuracyMatrix");
        assertThat(matrix).hasSize(3);
        for (int i = 0; i < 3; i++) {
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                double a = matrix.get(i).get(j).asDouble();
                assertThat(a).isBetween(0.0, 1.0);
                sum += a;
            }
            double classesSeen = 3.0 * (i + 1);
            assertThat(sum / (i + 1)).as("average accuracy after task %d", i + 1).isGreaterThan(1.5 / classesSeen);
        }
        // Compatibility and transfer after every task: the first has no previous version to flip against.
        long previousParameters = 0;
        for (int i = 0; i < 3; i++) {
            JsonNode c = tasks.get(i).path("compatibility");
            assertThat(c.path("negativeFlipRate").asDouble()).isBetween(0.0, 1.0);
            assertThat(c.path("forwardTransfer").asDouble()).isBetween(-1.0, 1.0);
            assertThat(c.path("trainableParameters").asLong()).as("the adapter set grows").isGreaterThan(previousParameters);
            previousParameters = c.path("trainableParameters").asLong();
            assertThat(c.path("perClassAccuracy").size()).isEqualTo(3 * (i + 1));
        }
        assertThat(tasks.get(0).path("compatibility").path("negativeFlipRate").asDouble()).isZero();
        JsonNode metrics = stream.path("metrics");
        assertThat(metrics.path("averageAccuracy").asDouble()).isGreaterThan(1.5 / 9);

        // Predictions through the gateway, with the adapter the router chose.
        List<SupersenseStream.TaskData> data = MINI.data();
        List<String> texts = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (SupersenseStream.TaskData task : data) {
            for (int i = 0; i < 4; i++) {
                texts.add(task.test().get(i).text());
                expected.add(task.test().get(i).label());
            }
        }
        JsonNode predictions = postJson("/api/streams/" + STREAM + "/predict", Map.of("texts", texts), 200).path("predictions");
        assertThat(predictions).hasSize(texts.size());
        Set<String> adapterIds = new HashSet<>();
        adapters.forEach(a -> adapterIds.add(a.path("adapterId").asText()));
        Set<String> allLabels = new HashSet<>();
        data.forEach(t -> allLabels.addAll(t.labels()));
        int correct = 0;
        for (int i = 0; i < predictions.size(); i++) {
            JsonNode p = predictions.get(i);
            assertThat(adapterIds).contains(p.path("adapterId").asText());
            // the router's score of every candidate: its classes' probability mass, summing to 1
            JsonNode router = p.path("routerScores");
            assertThat(router.size()).isEqualTo(adapterIds.size());
            assertThat(router.path(p.path("adapterId").asText()).asDouble()).isPositive();
            double total = 0;
            for (JsonNode score : router) total += score.asDouble();
            assertThat(total).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-3));
            assertThat(allLabels).contains(p.path("label").asText());
            if (p.path("label").asText().equals(expected.get(i))) correct++;
        }
        assertThat(correct).as("correct predictions of %d", texts.size()).isGreaterThan(texts.size() / 9);
    }

    @Test
    @Order(2)
    void adaptersDownloadAsPeftDirectoriesWithLineage() throws Exception {
        JsonNode adapters = getJson("/api/adapters?streamId=" + STREAM).path("items");
        String id = adapters.get(0).path("adapterId").asText();
        HttpResponse<byte[]> zip = http.send(request("/api/adapters/" + id + "/peft").build(), HttpResponse.BodyHandlers.ofByteArray());
        assertThat(zip.statusCode()).isEqualTo(200);
        List<String> entries = new ArrayList<>();
        try (var in = new ZipInputStream(new ByteArrayInputStream(zip.body()))) {
            for (var e = in.getNextEntry(); e != null; e = in.getNextEntry()) entries.add(e.getName());
        }
        assertThat(entries).contains("adapter_config.json", "adapter_model.safetensors");
        Adapter adapter = PeftAdapterFormat.fromZip(zip.body());
        assertThat(adapter.weights()).containsKey("base_model.model.encoder.layer.0.attention.self.query.lora_A.weight");
        assertThat(adapters.get(0).path("lineage").toString()).contains("trained-on");
        // Later tasks were warm-started from the nearest registered adapter.
        assertThat(adapters.get(2).path("lineage").toString()).contains("warm-started-from");

        // The lineage graph, both ways: the third adapter's parents (its dataset, the adapter it was warm-started
        // from), and the first adapter's descendants.
        String third = adapters.get(2).path("adapterId").asText();
        JsonNode graph = getJson("/api/adapters/" + third + "/lineage");
        assertThat(graph.path("root").asText()).isEqualTo(third);
        List<String> relations = new ArrayList<>();
        graph.path("edges").forEach(e -> relations.add(e.path("relation").asText()));
        assertThat(relations).contains("trained-on", "warm-started-from");
        JsonNode warmEdge = null;
        for (JsonNode e : graph.path("edges")) {
            if (e.path("relation").asText().equals("warm-started-from") && e.path("child").asText().equals(third)) warmEdge = e;
        }
        assertThat(warmEdge).as(graph.toString()).isNotNull();
        String warmParent = warmEdge.path("parent").asText();
        List<String> kinds = new ArrayList<>();
        graph.path("nodes").forEach(n -> kinds.add(n.path("kind").asText()));
        assertThat(kinds).contains("adapter", "dataset");
        JsonNode parentNode = null;
        for (JsonNode n : graph.path("nodes")) if (n.path("id").asText().equals(warmParent)) parentNode = n;
        assertThat(parentNode.path("streamId").asText()).isEqualTo(STREAM);
        assertThat(parentNode.path("version").asInt()).isBetween(1, 2);
        JsonNode down = getJson("/api/adapters/" + warmParent + "/lineage?depth=1");
        assertThat(down.path("edges").toString()).contains(third);
        assertThat(as(stack.adminKey(), "GET", "/api/adapters/" + third + "/lineage?depth=99", null).statusCode()).isEqualTo(400);
        assertThat(as(stack.adminKey(), "GET", "/api/adapters/" + java.util.UUID.randomUUID() + "/lineage", null).statusCode()).isEqualTo(404);

        // The list filters (search, status, type, task) and pages, with the total
        JsonNode page = getJson("/api/adapters?q=E2E-SUPER&status=PROMOTED&size=1&page=1");
        assertThat(page.path("total").asLong()).isEqualTo(3);
        assertThat(page.path("items")).hasSize(1);
        assertThat(page.path("items").get(0).path("version").asInt()).isEqualTo(2);
        assertThat(getJson("/api/adapters?streamId=" + STREAM + "&type=LORA").path("total").asLong()).isEqualTo(3);
        assertThat(getJson("/api/adapters?streamId=" + STREAM + "&type=MORA").path("items")).isEmpty();
        String task2 = adapters.get(1).path("taskKey").asText();
        assertThat(getJson("/api/adapters?streamId=" + STREAM + "&taskKey=" + task2).path("items"))
                .singleElement().satisfies(a -> assertThat(a.path("taskKey").asText()).isEqualTo(task2));
        assertThat(getJson("/api/adapters?q=" + third.substring(0, 8)).path("items")).singleElement()
                .satisfies(a -> assertThat(a.path("adapterId").asText()).isEqualTo(third));
        assertThat(getJson("/api/adapters?q=no_such%25thing").path("total").asLong()).isZero();
    }

    @Test
    @Order(3)
    void reDeliveredEventsCreateNothingTwice() throws Exception {
        MINI.publish(stack.kafkaBrokers());
        Thread.sleep(3000);
        assertThat(getJson("/api/datasets?streamId=" + STREAM).path("items")).hasSize(3);
        assertThat(getJson("/api/streams/" + STREAM).path("tasks")).hasSize(3);
        assertThat(getJson("/api/adapters?streamId=" + STREAM).path("items")).hasSize(3);

        // datasets: searched, paged with the total, and counted per label
        JsonNode datasets = getJson("/api/datasets?q=" + STREAM.substring(0, 6).toUpperCase() + "&size=2");
        assertThat(datasets.path("total").asLong()).isEqualTo(3);
        assertThat(datasets.path("items")).hasSize(2);
        JsonNode first = datasets.path("items").get(0);
        JsonNode counts = getJson("/api/datasets/" + first.path("datasetId").asText() + "/labels");
        assertThat(counts).hasSize(first.path("labels").size());
        int train = 0, test = 0;
        for (JsonNode c : counts) {
            assertThat(c.path("train").asInt()).isPositive();
            train += c.path("train").asInt();
            test += c.path("test").asInt();
        }
        assertThat(train).isEqualTo(first.path("trainSize").asInt());
        assertThat(test).isEqualTo(first.path("testSize").asInt());
        assertThat(getJson("/api/datasets?q=nothing-like-this").path("total").asLong()).isZero();
    }

    @Test
    @Order(4)
    void malformedUpstreamEventsGoToTheDeadLetterTopicWithTheReason() throws Exception {
        String marker = "not json " + System.nanoTime();
        try (var producer = new KafkaProducer<>(Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBrokers()),
                new StringSerializer(), new ByteArraySerializer())) {
            producer.send(new ProducerRecord<>(Topics.UPSTREAM_DATASETS, "broken", marker.getBytes(StandardCharsets.UTF_8))).get();
        }
        ConsumerRecord<String, byte[]> dead = awaitRecord(Topics.deadLetter(Topics.UPSTREAM_DATASETS), marker, Duration.ofSeconds(60));
        String reason = new String(dead.headers().lastHeader("x-exception-message").value(), StandardCharsets.UTF_8);
        assertThat(reason).contains("not valid JSON");
    }

    @Test
    @Order(5)
    void invalidUploadsGetAPreciseProblem() throws Exception {
        Map<String, Object> body = Map.of("streamId", "uploads", "taskKey", "t1", "name", "bad", "description", "d",
                "labels", List.of("a", "b"),
                "train", List.of(Map.of("text", "x", "label", "a"), Map.of("text", "y", "label", "c")),
                "test", List.of(Map.of("text", "z", "label", "b")));
        HttpResponse<String> response = post("/api/datasets", body);
        assertThat(response.statusCode()).isEqualTo(400);
        assertThat(response.headers().firstValue("content-type").orElse("")).contains("application/problem+json");
        JsonNode problem = Json.mapper().readTree(response.body());
        assertThat(problem.path("errors").toString()).contains("train[1].label 'c' is not in labels")
                .contains("label 'b' has no train example");
        assertThat(getJson("/api/datasets?streamId=uploads").path("items")).isEmpty();
    }

    @Test
    @Order(6)
    void adaptersMergeIntoARegisteredAdapterWithItsRecipe() throws Exception {
        JsonNode adapters = getJson("/api/adapters?streamId=" + STREAM).path("items");
        String first = adapters.get(0).path("adapterId").asText();
        String second = adapters.get(1).path("adapterId").asText();
        Map<String, Object> ties = Map.of("method", "ties_svd", "convention", "peft",
                "adapters", List.of(Map.of("id", first, "weight", 0.6), Map.of("id", second, "weight", 0.4)),
                "params", Map.of("density", 0.5, "svd_rank", 8), "seed", 3);
        JsonNode job = postJson("/api/merges", ties, 202);
        assertThat(job.path("status").asText()).isEqualTo("SUCCEEDED");
        JsonNode again = postJson("/api/merges", ties, 202);
        assertThat(again.path("sha256").asText()).as("same recipe, same bytes").isEqualTo(job.path("sha256").asText());
        assertThat(again.path("adapterId").asText()).isEqualTo(job.path("adapterId").asText());
        assertThat(getJson("/api/merges/" + job.path("mergeId").asText()).path("recipe").path("method").asText()).isEqualTo("ties_svd");

        JsonNode entry = getJson("/api/adapters/" + job.path("adapterId").asText());
        assertThat(entry.path("lineage").toString()).contains(first).contains(second).contains("merged-from");
        assertThat(entry.path("config").path("r").asInt()).isEqualTo(8);
        assertThat(entry.path("provenance").toString()).contains("ties_svd");
        JsonNode mergeGraph = getJson("/api/adapters/" + job.path("adapterId").asText() + "/lineage");
        long mergedFrom = 0;
        for (JsonNode e : mergeGraph.path("edges")) if (e.path("relation").asText().equals("merged-from")) mergedFrom++;
        assertThat(mergedFrom).isEqualTo(2);
        assertThat(mergeGraph.path("edges").toString()).as("the inputs' own parents too").contains("trained-on");

        // Mismatched inputs and bad parameters are refused with a precise problem, and nothing is registered.
        int before = getJson("/api/adapters?streamId=" + STREAM).path("items").size();
        HttpResponse<String> bad = post("/api/merges", Map.of("method", "dare_ties",
                "adapters", List.of(Map.of("id", first), Map.of("id", second)), "params", Map.of("density", -0.5)));
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(Json.mapper().readTree(bad.body()).path("detail").asText()).contains("density");
        HttpResponse<String> missing = post("/api/merges", Map.of("method", "linear",
                "adapters", List.of(Map.of("id", first), Map.of("id", "00000000-0000-0000-0000-000000000000"))));
        assertThat(missing.statusCode()).isEqualTo(400);
        assertThat(missing.body()).contains("no registered adapter");
        assertThat(getJson("/api/adapters?streamId=" + STREAM).path("items")).hasSize(before);

        // A merged adapter is scored next to its inputs on the tasks' test splits.
        JsonNode datasets = getJson("/api/datasets?streamId=" + STREAM).path("items");
        JsonNode scores = postJson("/api/evaluations/adapters", Map.of(
                "adapterIds", List.of(first, second, job.path("adapterId").asText()),
                "datasetIds", List.of(datasets.get(0).path("datasetId").asText(), datasets.get(1).path("datasetId").asText())), 200);
        assertThat(scores.path("accuracy")).hasSize(3);
        assertThat(scores.path("accuracy").get(0).get(0).asDouble()).isGreaterThan(1.0 / 3);
    }

    @Test
    @Order(7)
    void explicitlyChosenAdaptersComposeAtInference() throws Exception {
        JsonNode adapters = getJson("/api/adapters?streamId=" + STREAM + "&status=PROMOTED").path("items");
        List<Map<String, Object>> chosen = new ArrayList<>();
        adapters.forEach(a -> chosen.add(Map.of("id", a.path("adapterId").asText(), "weight", 1.0)));
        List<String> texts = List.of(MINI.data().get(0).test().get(0).text(), MINI.data().get(2).test().get(0).text());
        for (String mode : List.of("routed", "weighted_sum", "stack")) {
            JsonNode p = postJson("/api/predict", Map.of("texts", texts, "adapters", chosen, "mode", mode), 200).path("predictions");
            assertThat(p).as(mode).hasSize(2);
            assertThat(p.get(0).path("label").asText()).as(mode).isNotBlank();
        }
        JsonNode single = postJson("/api/predict", Map.of("texts", texts, "adapters", List.of(chosen.get(0)), "mode", "single"), 200);
        assertThat(single.path("predictions").get(0).path("label").asText()).isIn(MINI.data().get(0).labels());
    }

    @Test
    @Order(8)
    void theHypernetworkFindsTheNearestAdapterByDescription() throws Exception {
        String description = MINI.data().get(1).description();
        JsonNode nearest = getJson("/api/hypernetwork/nearest?description=" + java.net.URLEncoder.encode(description, StandardCharsets.UTF_8));
        assertThat(nearest.path("entry").path("streamId").asText()).isEqualTo(STREAM);
        assertThat(nearest.path("similarity").asDouble()).isGreaterThan(0.99);
    }

    /** A stream that is not WordNet, uploaded through the REST API as a user would. */
    private static final Map<String, List<String>> WEATHER_SPORTS = Map.of(
            "weather", List.of("Heavy rain is expected all afternoon.", "The forecast says sunny skies tomorrow.",
                    "A cold front will bring snow overnight.", "Strong winds knocked down branches.",
                    "Humidity will stay high through the weekend.", "Thunderstorms may develop this evening.",
                    "Morning fog will lift by noon.", "Temperatures drop below freezing tonight.",
                    "It was the hottest day of the summer.", "Light drizzle continues along the coast.",
                    "A heat wave is settling over the region.", "Hail damaged cars during the storm."),
            "sports", List.of("The striker scored twice in the second half.", "She won the marathon in record time.",
                    "The team clinched the championship on penalties.", "He hit a home run in the ninth inning.",
                    "The coach praised the defense after the match.", "The tennis final went to five sets.",
                    "Our goalkeeper saved a late penalty.", "The cyclist attacked on the final climb.",
                    "They lost the derby by a single point.", "The quarterback threw three touchdowns.",
                    "The swimmer broke the world record.", "Fans cheered as the runners crossed the line."));
    private static final Map<String, List<String>> MUSIC_COOKING = Map.of(
            "music", List.of("The band released a new album last week.", "She plays the violin in the orchestra.",
                    "The concert sold out in minutes.", "His guitar solo brought the crowd to its feet.",
                    "The choir rehearsed the symphony all night.", "The song topped the charts for a month.",
                    "The pianist performed a sonata by Chopin.", "They recorded the single in a small studio.",
                    "The drummer kept a steady rhythm.", "The opera singer hit the highest note.",
                    "A jazz trio played in the lounge.", "The festival lineup includes three rock bands."),
            "cooking", List.of("Simmer the sauce for twenty minutes.", "Knead the dough until it is smooth.",
                    "Chop the onions and fry them in butter.", "Bake the cake at 180 degrees.",
                    "Season the soup with salt and pepper.", "Whisk the eggs with a little milk.",
                    "Roast the vegetables until golden.", "Marinate the chicken overnight.",
                    "Grate the cheese over the pasta.", "Stir the risotto slowly with broth.",
                    "Let the bread rise for an hour.", "Slice the tomatoes for the salad."));

    @Test
    @Order(9)
    void aStreamUploadedThroughTheApiIsLearnedToo() throws Exception {
        String stream = "api-topics";
        upload(stream, "t-weather-sports", "Weather or sports news", WEATHER_SPORTS);
        upload(stream, "t-music-cooking", "Music or cooking sentences", MUSIC_COOKING);
        // Re-uploading the same content is idempotent; different content for a task is refused.
        HttpResponse<String> again = post("/api/datasets", dataset(stream, "t-weather-sports", "Weather or sports news", WEATHER_SPORTS));
        assertThat(again.statusCode()).isEqualTo(202);
        assertThat(Json.mapper().readTree(again.body()).path("created").asBoolean()).isFalse();
        HttpResponse<String> changed = post("/api/datasets", dataset(stream, "t-weather-sports", "changed", MUSIC_COOKING));
        assertThat(changed.statusCode()).isEqualTo(400);
        assertThat(changed.body()).contains("already has a different dataset");

        JsonNode done = awaitDone(stream, 2, Duration.ofMinutes(6));
        JsonNode matrix = done.path("accuracyMatrix");
        assertThat(matrix).hasSize(2);
        assertThat(matrix.get(0).get(0).asDouble()).as("task 1 after task 1").isGreaterThanOrEqualTo(0.75);
        assertThat(matrix.get(1).get(1).asDouble()).as("task 2 after task 2").isGreaterThanOrEqualTo(0.75);
        JsonNode p = postJson("/api/streams/" + stream + "/predict", Map.of("texts",
                List.of("Snow and ice will cover the roads tomorrow.", "Add the garlic and cook for one minute.")), 200).path("predictions");
        assertThat(p.get(0).path("label").asText()).isEqualTo("weather");
        assertThat(p.get(1).path("label").asText()).isEqualTo("cooking");
    }

    /** Creates a stream with a strategy through the public API and feeds it the two topic tasks. */
    private void streamWithStrategy(String stream, String strategy, Map<String, List<String>> second) throws Exception {
        JsonNode created = postJson("/api/streams", Map.of("streamId", stream, "policy", Map.of("strategy", strategy)), 201);
        assertThat(created.path("policy").path("strategy").asText()).isEqualTo(strategy);
        upload(stream, "t1", "Weather or sports news", WEATHER_SPORTS);
        upload(stream, "t2", "Music or cooking sentences", second);
    }

    private JsonNode adapter(String id) throws Exception {
        return getJson("/api/adapters/" + id);
    }

    @Test
    @Order(10)
    void strategiesRunThroughTheSamePublicPath() throws Exception {
        assertThat(post("/api/streams", Map.of("streamId", "bad", "policy", Map.of("strategy", "magic"))).body())
                .contains("strategy 'magic' is not available");
        streamWithStrategy("s-sequential", "sequential", MUSIC_COOKING);
        streamWithStrategy("s-merge", "merge-after-task", MUSIC_COOKING);
        streamWithStrategy("s-joint", "joint", MUSIC_COOKING);
        // the same topics again with other sentences held out: no shift, so SEMA reuses the first adapter
        Map<String, List<String>> sameTopics = new java.util.HashMap<>();
        WEATHER_SPORTS.forEach((label, texts) -> {
            List<String> reversed = new ArrayList<>(texts);
            java.util.Collections.reverse(reversed);
            sameTopics.put(label, reversed);
        });
        streamWithStrategy("s-sema", "sema", sameTopics);
        streamWithStrategy("s-mora", "mora", MUSIC_COOKING);
        assertThat(post("/api/streams", Map.of("streamId", "s-joint")).statusCode()).isEqualTo(409);

        // sequential: one adapter continued from the first, its head grown; the first is retired
        JsonNode seq = awaitDone("s-sequential", 2, Duration.ofMinutes(6));
        String seq1 = seq.path("tasks").get(0).path("adapterId").asText(), seq2 = seq.path("tasks").get(1).path("adapterId").asText();
        assertThat(adapter(seq1).path("status").asText()).isEqualTo("RETIRED");
        assertThat(adapter(seq2).path("lineage").toString()).contains("continued-from").contains(seq1);
        assertThat(Json.mapper().readTree(post("/api/streams/s-sequential/predict",
                Map.of("texts", List.of("Add the garlic and cook for one minute."))).body()).path("predictions").get(0).path("label").asText())
                .isIn("weather", "sports", "music", "cooking");
        assertThat(PeftAdapterFormat.fromZip(http.send(request("/api/adapters/" + seq2 + "/peft").build(),
                HttpResponse.BodyHandlers.ofByteArray()).body()).head().labels()).containsExactlyInAnyOrder("weather", "sports", "music", "cooking");

        // merge-after-task: the merge of both task adapters serves, the task adapter is its component
        JsonNode merge = awaitDone("s-merge", 2, Duration.ofMinutes(6));
        JsonNode t2 = merge.path("tasks").get(1);
        String served = t2.path("servedAdapterId").asText();
        assertThat(served).isNotEqualTo(t2.path("adapterId").asText());
        assertThat(adapter(served).path("status").asText()).isEqualTo(t2.path("status").asText());
        assertThat(adapter(served).path("lineage").toString()).contains("merged-from");
        assertThat(adapter(t2.path("adapterId").asText()).path("status").asText()).isEqualTo("RETIRED");

        // joint: the second adapter was trained on both datasets
        JsonNode joint = awaitDone("s-joint", 2, Duration.ofMinutes(6));
        assertThat(adapter(joint.path("tasks").get(1).path("adapterId").asText()).path("lineage").toString())
                .contains("dataset:" + joint.path("tasks").get(0).path("datasetId").asText());

        // mora: one adapter whose rank-1 experts grow by 8 per task, the earlier ones frozen
        JsonNode mora = awaitDone("s-mora", 2, Duration.ofMinutes(6));
        String mora1 = mora.path("tasks").get(0).path("adapterId").asText(), mora2 = mora.path("tasks").get(1).path("adapterId").asText();
        assertThat(adapter(mora1).path("status").asText()).isEqualTo("RETIRED");
        Adapter grown = PeftAdapterFormat.fromZip(http.send(request("/api/adapters/" + mora2 + "/peft").build(),
                HttpResponse.BodyHandlers.ofByteArray()).body());
        assertThat(grown.gate()).isNotNull();
        assertThat(grown.spec().rank()).isEqualTo(16);
        assertThat(Json.mapper().readTree(post("/api/streams/s-mora/predict",
                Map.of("texts", List.of("Bake the cake at 180 degrees."))).body()).path("predictions").get(0).path("label").asText())
                .isIn("weather", "sports", "music", "cooking");

        // sema: no distribution shift, so the second task shares the first adapter's weights
        JsonNode sema = awaitDone("s-sema", 2, Duration.ofMinutes(6));
        assertThat(adapter(sema.path("tasks").get(1).path("adapterId").asText()).path("lineage").toString())
                .contains("shares-weights-of").contains(sema.path("tasks").get(0).path("adapterId").asText());
    }

    @Test
    @Order(11)
    void aStreamCanBePausedResumedAndItsPolicyPatched() throws Exception {
        postJson("/api/streams", Map.of("streamId", "s-paused"), 201);
        postJson("/api/streams/s-paused/pause", Map.of(), 200);
        upload("s-paused", "t1", "Weather or sports news", WEATHER_SPORTS);
        Thread.sleep(4000);
        JsonNode paused = getJson("/api/streams/s-paused");
        assertThat(paused.path("paused").asBoolean()).isTrue();
        assertThat(paused.path("tasks").get(0).path("adapterId").textValue()).as(paused.toString()).isNull();

        HttpResponse<String> patched = http.send(request("/api/streams/s-paused/policy")
                .header("Content-Type", "application/merge-patch+json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"strategy\":\"sequential\",\"minAverageAccuracy\":0.2}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(patched.statusCode()).as(patched.body()).isEqualTo(200);
        assertThat(getJson("/api/streams/s-paused/policy").path("strategy").asText()).isEqualTo("sequential");
        assertThat(getJson("/api/streams/s-paused/policy").path("minAverageAccuracy").asDouble()).isEqualTo(0.2);
        HttpResponse<String> invalid = http.send(request("/api/streams/s-paused/policy")
                .header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString("{\"anchorMomentum\":7}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(invalid.statusCode()).isEqualTo(400);
        assertThat(invalid.body()).contains("anchorMomentum must be in [0, 1]");

        postJson("/api/streams/s-paused/resume", Map.of(), 200);
        JsonNode done = awaitDone("s-paused", 1, Duration.ofMinutes(4));
        assertThat(done.path("paused").asBoolean()).isFalse();
    }

    @Test
    @Order(12)
    void embeddingsComeFromTheBaseModelOrWithAnAdapterApplied() throws Exception {
        List<String> texts = List.of("a large carnivorous feline", "a vehicle with two wheels");
        JsonNode plain = postJson("/api/embeddings", Map.of("texts", texts), 200);
        assertThat(plain.path("dimension").asInt()).isEqualTo(384);
        String id = getJson("/api/adapters?streamId=" + STREAM).path("items").get(0).path("adapterId").asText();
        JsonNode adapted = postJson("/api/embeddings", Map.of("texts", texts, "adapterId", id), 200);
        assertThat(adapted.path("adapterId").asText()).isEqualTo(id);
        // what a user would compute themselves from the downloaded PEFT directory
        Adapter downloaded = PeftAdapterFormat.fromZip(http.send(request("/api/adapters/" + id + "/peft").build(),
                HttpResponse.BodyHandlers.ofByteArray()).body());
        float[][] expectedBase = io.lamina.engine.model.BaseModel.miniLm().embed(texts, null);
        float[][] expectedAdapted = io.lamina.engine.model.BaseModel.miniLm().embed(texts, downloaded);
        float moved = 0;
        for (int i = 0; i < texts.size(); i++) {
            double norm = 0;
            for (int j = 0; j < 384; j++) {
                double b = plain.path("embeddings").get(i).get(j).asDouble(), a = adapted.path("embeddings").get(i).get(j).asDouble();
                assertThat(b).isCloseTo(expectedBase[i][j], org.assertj.core.data.Offset.offset(1e-6));
                assertThat(a).isCloseTo(expectedAdapted[i][j], org.assertj.core.data.Offset.offset(1e-6));
                moved = (float) Math.max(moved, Math.abs(a - b));
                norm += a * a;
            }
            assertThat(norm).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-4));
        }
        assertThat(moved).as("the adapter changes the vectors").isGreaterThan(1e-3f);
        assertThat(post("/api/embeddings", Map.of("texts", List.of())).statusCode()).isEqualTo(400);
        assertThat(post("/api/embeddings", Map.of("texts", texts, "adapterId", "../etc")).statusCode()).isEqualTo(400);
    }

    private HttpResponse<String> postMultipart(String path, Map<String, String> fields, String fileName, byte[] file) throws Exception {
        String boundary = "lamina-" + System.nanoTime();
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        for (Map.Entry<String, String> f : fields.entrySet()) {
            body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.getKey() + "\"\r\n\r\n" + f.getValue() + "\r\n")
                    .getBytes(StandardCharsets.UTF_8));
        }
        body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" + fileName
                + "\"\r\nContent-Type: application/zip\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        body.write(file);
        body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return http.send(request(path).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A PEFT directory as PEFT writes it: config, safetensors weights, model card; nothing of Lamina's. */
    private static byte[] peftDirectoryZip(Adapter adapter, Map<String, byte[]> extra) throws Exception {
        java.util.SortedMap<String, byte[]> files = new java.util.TreeMap<>(PeftAdapterFormat.toFiles(adapter));
        files.remove(PeftAdapterFormat.HEAD);
        files.remove(PeftAdapterFormat.LAMINA);
        files.put("README.md", "---\nlibrary_name: peft\n---\n".getBytes(StandardCharsets.UTF_8));
        files.putAll(extra);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (var zip = new java.util.zip.ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                zip.putNextEntry(new java.util.zip.ZipEntry(f.getKey()));
                zip.write(f.getValue());
                zip.closeEntry();
            }
        }
        return out.toByteArray();
    }

    @Test
    @Order(13)
    void aPeftLoraMadeElsewhereImportsAndBehavesAsItDoesThere() throws Exception {
        // stands for an adapter trained with PEFT: the LoRA factors of one of this stream's adapters, as a PEFT directory
        String source = getJson("/api/adapters?streamId=" + STREAM).path("items").get(1).path("adapterId").asText();
        Adapter original = PeftAdapterFormat.fromZip(http.send(request("/api/adapters/" + source + "/peft").build(),
                HttpResponse.BodyHandlers.ofByteArray()).body());
        byte[] zip = peftDirectoryZip(original, Map.of());
        HttpResponse<String> r = postMultipart("/api/adapters/import", Map.of("streamId", STREAM, "taskKey", "task-1", "name", "from PEFT"),
                "adapter.zip", zip);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode imported = Json.mapper().readTree(r.body());
        String id = imported.path("adapterId").asText();
        assertThat(imported.path("labels").size()).isEqualTo(3);
        assertThat(getJson("/api/adapters/" + id).path("lineage").toString()).contains("imported-from");

        List<String> texts = List.of("a domesticated carnivorous mammal", "the act of moving quickly");
        JsonNode vectors = postJson("/api/embeddings", Map.of("texts", texts, "adapterId", id), 200).path("embeddings");
        float[][] expected = io.lamina.engine.model.BaseModel.miniLm().embed(texts, original);
        for (int i = 0; i < texts.size(); i++) {
            for (int j = 0; j < 384; j++) assertThat(vectors.get(i).get(j).asDouble()).isCloseTo(expected[i][j], org.assertj.core.data.Offset.offset(1e-6));
        }
        // importing the same upload again is the same adapter
        assertThat(Json.mapper().readTree(postMultipart("/api/adapters/import", Map.of("streamId", STREAM, "taskKey", "task-1"),
                "adapter.zip", zip).body()).path("adapterId").asText()).isEqualTo(id);

        HttpResponse<String> pickle = postMultipart("/api/adapters/import", Map.of("streamId", STREAM, "taskKey", "task-1"), "a.zip",
                peftDirectoryZip(original, Map.of("adapter_model.bin", new byte[]{(byte) 0x80, 2, 0x7d})));
        assertThat(pickle.statusCode()).isEqualTo(400);
        assertThat(pickle.body()).contains("pickle").contains("application/problem+json".isEmpty() ? "" : "detail");
        HttpResponse<String> noTask = postMultipart("/api/adapters/import", Map.of("streamId", STREAM, "taskKey", "no-such-task"), "a.zip", zip);
        assertThat(noTask.statusCode()).isEqualTo(400);
        assertThat(noTask.body()).contains("upload the task's dataset first");
        HttpResponse<String> notZip = postMultipart("/api/adapters/import", Map.of("streamId", STREAM, "taskKey", "task-1"), "a.zip",
                "not a zip".getBytes(StandardCharsets.UTF_8));
        assertThat(notZip.statusCode()).isEqualTo(400);
    }

    @Test
    @Order(14)
    void datasetsUploadAsCsvOrJsonLinesWithEveryBadLineNamed() throws Exception {
        StringBuilder csv = new StringBuilder("text,label,split\n");
        WEATHER_SPORTS.forEach((label, texts) -> {
            for (int i = 0; i < texts.size(); i++) {
                csv.append('"').append(texts.get(i).replace("\"", "\"\"")).append("\",").append(label).append(',').append(i < 9 ? "train" : "test").append('\n');
            }
        });
        HttpResponse<String> ok = http.send(request("/api/datasets?streamId=s-files&taskKey=t-csv&name=Weather%20or%20sports")
                .header("Content-Type", "text/csv").POST(HttpRequest.BodyPublishers.ofString(csv.toString())).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(202);
        JsonNode stored = getJson("/api/datasets/" + Json.mapper().readTree(ok.body()).path("datasetId").asText() + "?records=true");
        assertThat(stored.path("train").size()).isEqualTo(18);
        assertThat(stored.path("test").size()).isEqualTo(6);

        HttpResponse<String> bad = http.send(request("/api/datasets?streamId=s-files&taskKey=t-jsonl")
                .header("Content-Type", "application/x-ndjson")
                .POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"fine\",\"label\":\"a\"}\n{\"text\":\"\",\"label\":\"a\"}\nnot json\n")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(bad.body()).contains("line 2: text is missing or blank").contains("line 3: not a JSON object");
        assertThat(getJson("/api/datasets?streamId=s-files").path("items").size()).isEqualTo(1);
    }

    @Test
    @Order(15)
    void aRankSweepChoosesTheTasksRankAndSaysHow() throws Exception {
        postJson("/api/streams", Map.of("streamId", "s-sweep",
                "policy", Map.of("adapter", Map.of("rankSweep", Map.of("ranks", List.of(2, 1), "tolerance", 1.0)))), 201);
        upload("s-sweep", "t1", "Weather or sports news", WEATHER_SPORTS);
        JsonNode done = awaitDone("s-sweep", 1, Duration.ofMinutes(4));
        String id = done.path("tasks").get(0).path("adapterId").asText();
        Adapter swept = PeftAdapterFormat.fromZip(http.send(request("/api/adapters/" + id + "/peft").build(),
                HttpResponse.BodyHandlers.ofByteArray()).body());
        assertThat(swept.spec().rank()).isEqualTo(1);          // tolerance 1: the smallest rank
        assertThat(swept.provenance().details().get("rank-sweep")).startsWith("r1=").contains("r2=").endsWith("chosen 1 (tolerance 1.000)");
    }

    /**
     * Every adapter type a policy can name, beyond plain LoRA, trains through the public path (policy, upload, Kafka,
     * Temporal, training worker, registry, evaluation) and serves predictions: LoRA with a PiSSA start, LoKr, Houlsby
     * bottleneck adapters, prompt tuning and LT-SFT, each as its engine kind with its own config in the registry.
     */
    @Test
    @Order(15)
    void everyAdapterTypeAPolicyNamesTrainsEvaluatesAndServes() throws Exception {
        Map<String, Map<String, Object>> policies = new java.util.LinkedHashMap<>();
        policies.put("s-type-pissa", Map.of("type", "lora", "init", "pissa"));
        policies.put("s-type-lokr", Map.of("type", "lokr"));
        policies.put("s-type-bottleneck", Map.of("type", "bottleneck", "bottleneck", Map.of("architecture", "houlsby")));
        policies.put("s-type-prompt", Map.of("type", "prompt", "rank", 4));
        policies.put("s-type-sft", Map.of("type", "sft"));
        Map<String, String> kinds = Map.of("s-type-pissa", "LORA", "s-type-lokr", "LOKR", "s-type-bottleneck", "BOTTLENECK",
                "s-type-prompt", "PROMPT_TUNING", "s-type-sft", "SFT");
        for (Map.Entry<String, Map<String, Object>> e : policies.entrySet()) {
            postJson("/api/streams", Map.of("streamId", e.getKey(), "policy", Map.of("strategy", "sequential", "adapter", e.getValue())), 201);
            upload(e.getKey(), "t1", "Weather or sports news", WEATHER_SPORTS);
        }
        for (String stream : policies.keySet()) {
            JsonNode task = awaitDone(stream, 1, Duration.ofMinutes(4)).path("tasks").get(0);
            assertThat(task.path("status").asText()).as(stream + ": " + task.path("statusReason").asText()).isEqualTo("PROMOTED");
            JsonNode adapter = adapter(task.path("adapterId").asText());
            assertThat(adapter.path("type").asText()).as(stream).isEqualTo(kinds.get(stream));
            JsonNode p = postJson("/api/streams/" + stream + "/predict", Map.of("texts", List.of("Heavy snow is falling on the mountains tonight.")), 200)
                    .path("predictions").get(0);
            assertThat(p.path("label").asText()).as(stream).isEqualTo("weather");
        }
        JsonNode pissa = adapter(awaitDone("s-type-pissa", 1, Duration.ofMinutes(1)).path("tasks").get(0).path("adapterId").asText());
        assertThat(pissa.path("config").path("r").asInt()).as("the trained factors and the frozen start").isEqualTo(16);
        assertThat(pissa.path("provenance").path("init").asText()).isEqualTo("pissa");
        JsonNode houlsby = adapter(awaitDone("s-type-bottleneck", 1, Duration.ofMinutes(1)).path("tasks").get(0).path("adapterId").asText());
        assertThat(houlsby.path("config").path("architecture").asText()).isEqualTo("houlsby");
        assertThat(houlsby.path("config").path("peft_type").asText()).isEqualTo("LAMINA_BOTTLENECK");
        JsonNode prompt = adapter(awaitDone("s-type-prompt", 1, Duration.ofMinutes(1)).path("tasks").get(0).path("adapterId").asText());
        assertThat(prompt.path("config").path("num_virtual_tokens").asInt()).isEqualTo(4);
        // an init the type does not have is refused with the reason, and the stream goes on
        postJson("/api/streams", Map.of("streamId", "s-type-bad", "policy", Map.of("adapter", Map.of("type", "lokr", "init", "pissa"))), 201);
        upload("s-type-bad", "t1", "Weather or sports news", WEATHER_SPORTS);
        JsonNode bad = awaitDone("s-type-bad", 1, Duration.ofMinutes(4)).path("tasks").get(0);
        assertThat(bad.path("status").asText()).isEqualTo("FAILED");
        assertThat(bad.path("statusReason").asText()).contains("init 'pissa' applies to lora");
    }

    @Test
    @Order(16)
    void operatorsRetireAndPromoteAdaptersAndPredictionsFollow() throws Exception {
        JsonNode adapters = getJson("/api/adapters?streamId=api-topics&status=PROMOTED").path("items");
        assertThat(adapters.size()).isEqualTo(2);
        String cooking = null;
        for (JsonNode a : adapters) if (a.path("taskKey").asText().equals("t-music-cooking")) cooking = a.path("adapterId").asText();
        JsonNode retired = postJson("/api/adapters/" + cooking + "/status", Map.of("status", "RETIRED", "reason", "bad answers"), 200);
        assertThat(retired.path("status").asText()).isEqualTo("RETIRED");
        assertThat(retired.path("statusReason").asText()).isEqualTo("set by an operator: bad answers");
        // only the weather/sports adapter serves now
        JsonNode p = postJson("/api/streams/api-topics/predict", Map.of("texts", List.of("Add the garlic and cook for one minute.")), 200);
        assertThat(p.path("predictions").get(0).path("label").asText()).isIn("weather", "sports");
        postJson("/api/adapters/" + cooking + "/status", Map.of("status", "PROMOTED"), 200);
        p = postJson("/api/streams/api-topics/predict", Map.of("texts", List.of("Add the garlic and cook for one minute.")), 200);
        assertThat(p.path("predictions").get(0).path("label").asText()).isEqualTo("cooking");
        assertThat(post("/api/adapters/" + cooking + "/status", Map.of("status", "DELETED")).statusCode()).isEqualTo(400);
    }

    private HttpResponse<String> postWithKey(String path, String key, Object body) throws Exception {
        return http.send(request(path).header("Content-Type", "application/json").header("Idempotency-Key", key)
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body))).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    @Order(17)
    void aRetriedPostWithTheSameIdempotencyKeyGetsTheFirstAnswer() throws Exception {
        Map<String, Object> body = Map.of("streamId", "s-idempotent", "policy", Map.of("strategy", "joint"));
        HttpResponse<String> first = postWithKey("/api/streams", "create-s-idempotent-1", body);
        HttpResponse<String> again = postWithKey("/api/streams", "create-s-idempotent-1", body);
        assertThat(first.statusCode()).isEqualTo(201);
        assertThat(again.statusCode()).isEqualTo(201);
        assertThat(again.body()).isEqualTo(first.body());
        assertThat(again.headers().firstValue("Idempotent-Replayed")).contains("true");
        assertThat(post("/api/streams", body).statusCode()).as("without the key it is a second create").isEqualTo(409);
        HttpResponse<String> other = postWithKey("/api/streams", "create-s-idempotent-1", Map.of("streamId", "s-other"));
        assertThat(other.statusCode()).isEqualTo(422);
        assertThat(other.body()).contains("different request body");
        assertThat(getJson("/api/streams")).noneMatch(st -> st.path("streamId").asText().equals("s-other"));

        // The answers are kept in the gateway's database: a retry after a gateway restart is answered the same.
        stack.stopService("gateway");
        stack.startService("gateway");
        HttpResponse<String> afterRestart = postWithKey("/api/streams", "create-s-idempotent-1", body);
        assertThat(afterRestart.statusCode()).as(afterRestart.body()).isEqualTo(201);
        assertThat(afterRestart.body()).isEqualTo(first.body());
        assertThat(afterRestart.headers().firstValue("Idempotent-Replayed")).contains("true");
        assertThat(postWithKey("/api/streams", "create-s-idempotent-1", Map.of("streamId", "s-other")).statusCode()).isEqualTo(422);
        // keys are per caller: another API key with the same Idempotency-Key acts (and the stream exists)
        String otherOperator = postJson("/api/keys", Map.of("name", "idempotency operator", "role", "operator"), 201).path("key").asText();
        HttpResponse<String> otherCaller = http.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/streams"))
                .header("Authorization", "Bearer " + otherOperator).header("Content-Type", "application/json")
                .header("Idempotency-Key", "create-s-idempotent-1")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(otherCaller.statusCode()).isEqualTo(409);
        assertThat(otherCaller.headers().firstValue("Idempotent-Replayed")).isEmpty();
        // signing in is never replayed (a replay would start no session)
        HttpResponse<String> signIn = http.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/session"))
                .header("Content-Type", "application/json").header("Idempotency-Key", "sign-in-1")
                .POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"" + stack.adminKey() + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> signInAgain = http.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/session"))
                .header("Content-Type", "application/json").header("Idempotency-Key", "sign-in-1")
                .POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"" + stack.adminKey() + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(signIn.statusCode()).isEqualTo(200);
        assertThat(signInAgain.headers().firstValue("Idempotent-Replayed")).isEmpty();
        assertThat(signInAgain.headers().allValues("set-cookie").toString()).contains("JSESSIONID");
        // lists filter and page
        JsonNode joint = getJson("/api/streams?strategy=joint");
        assertThat(joint).isNotEmpty().allMatch(st -> st.path("strategy").asText().equals("joint"));
        assertThat(getJson("/api/streams?prefix=s-&size=2&page=0")).hasSize(2);
        assertThat(getJson("/api/streams?prefix=s-idem")).extracting(st -> st.path("streamId").asText()).containsExactly("s-idempotent");
        assertThat(post("/api/streams", Map.of()).statusCode()).isEqualTo(400);
    }

    private HttpResponse<String> as(String keyOrNull, String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + path)).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (keyOrNull != null) b.header("Authorization", "Bearer " + keyOrNull);
        return http.send(b.build(), eventStreamOrString());
    }

    /** The body as a string, except for an event stream (it never ends): then only the answer's head counts. */
    private static HttpResponse.BodyHandler<String> eventStreamOrString() {
        return info -> info.headers().firstValue("content-type").orElse("").startsWith("text/event-stream")
                ? HttpResponse.BodySubscribers.mapping(HttpResponse.BodySubscribers.ofInputStream(), in -> {
                    try {
                        in.close();
                    } catch (java.io.IOException e) {
                        // closing only cancels the stream
                    }
                    return "(event stream)";
                })
                : HttpResponse.BodySubscribers.ofString(StandardCharsets.UTF_8);
    }

    @Test
    @Order(18)
    void everyRouteIsLockedByRole() throws Exception {
        String viewer = postJson("/api/keys", Map.of("name", "ci viewer", "role", "viewer"), 201).path("key").asText();
        String operator = postJson("/api/keys", Map.of("name", "ci operator", "role", "operator"), 201).path("key").asText();
        String adapterId = getJson("/api/adapters?streamId=" + STREAM).path("items").get(0).path("adapterId").asText();
        String datasetId = getJson("/api/datasets?streamId=" + STREAM).path("items").get(0).path("datasetId").asText();
        // the registry of adapter types a policy can name, and what the platform does with each
        Map<String, JsonNode> types = new java.util.HashMap<>();
        for (JsonNode t : getJson("/api/adapters/types")) types.put(t.path("id").asText(), t);
        assertThat(types).containsKeys("lora", "dora", "ia3", "lokr", "bottleneck");
        assertThat(types.get("lora").path("mergeable").asBoolean()).isTrue();
        assertThat(types.get("lokr").path("peftType").asText()).isEqualTo("LOKR");
        assertThat(types.get("bottleneck").path("peftInterchange").asBoolean()).isFalse();
        List<String[]> reads = List.of(
                new String[]{"GET", "/api/streams", null}, new String[]{"GET", "/api/streams/" + STREAM, null},
                new String[]{"GET", "/api/streams/" + STREAM + "/policy", null}, new String[]{"GET", "/api/strategies", null},
                new String[]{"GET", "/api/adapters/types", null},
                new String[]{"GET", "/api/datasets", null}, new String[]{"GET", "/api/datasets/" + datasetId, null},
                new String[]{"GET", "/api/adapters", null}, new String[]{"GET", "/api/adapters/" + adapterId, null},
                new String[]{"GET", "/api/adapters/" + adapterId + "/peft", null}, new String[]{"GET", "/api/merges/methods", null},
                new String[]{"GET", "/api/evaluations/" + STREAM, null}, new String[]{"GET", "/api/hypernetwork/nearest?description=x", null},
                new String[]{"GET", "/api/hypernetwork/generators", null}, new String[]{"GET", "/api/hypernetwork/generated", null},
                new String[]{"GET", "/api/dead-letters", null}, new String[]{"GET", "/api-docs/registry", null},
                new String[]{"GET", "/api/streams/" + STREAM + "/events", null}, new String[]{"GET", "/api/adapters/" + adapterId + "/lineage", null},
                new String[]{"GET", "/api/adapters?q=e2e&type=LORA&taskKey=task-1", null}, new String[]{"GET", "/api/datasets?q=e2e", null},
                new String[]{"GET", "/api/datasets/" + datasetId + "/labels", null}, new String[]{"GET", "/v3/api-docs", null},
                new String[]{"POST", "/api/streams/" + STREAM + "/predict", "{\"texts\":[\"a cat\"]}"},
                new String[]{"POST", "/api/predict", "{\"texts\":[\"a cat\"],\"adapters\":[{\"id\":\"" + adapterId + "\"}]}"},
                new String[]{"POST", "/api/embeddings", "{\"texts\":[\"a cat\"]}"},
                new String[]{"POST", "/api/evaluations/adapters", "{\"adapterIds\":[\"" + adapterId + "\"],\"datasetIds\":[\"" + datasetId + "\"]}"});
        List<String[]> writes = List.of(
                new String[]{"POST", "/api/datasets", "{}"}, new String[]{"POST", "/api/streams", "{}"},
                new String[]{"PUT", "/api/streams/" + STREAM + "/policy", "{}"}, new String[]{"PATCH", "/api/streams/" + STREAM + "/policy", "{}"},
                new String[]{"POST", "/api/streams/" + STREAM + "/pause", "{}"}, new String[]{"POST", "/api/streams/" + STREAM + "/resume", "{}"},
                new String[]{"POST", "/api/merges", "{}"}, new String[]{"POST", "/api/adapters", "{}"},
                new String[]{"POST", "/api/adapters/" + adapterId + "/status", "{}"}, new String[]{"POST", "/api/adapters/import", "{}"},
                new String[]{"POST", "/api/dead-letters/replay", "{}"},
                new String[]{"POST", "/api/hypernetwork/generate", "{}"}, new String[]{"POST", "/api/hypernetwork/generators", "{}"});
        List<String[]> admin = List.of(new String[]{"GET", "/api/keys", null}, new String[]{"POST", "/api/keys", "{}"},
                new String[]{"DELETE", "/api/keys/" + java.util.UUID.randomUUID(), null});
        List<String> failures = new ArrayList<>();
        List<String[]> all = new ArrayList<>(reads);
        all.addAll(writes);
        all.addAll(admin);
        for (String[] r : all) {
            int anonymous = as(null, r[0], r[1], r[2]).statusCode();
            if (anonymous != 401) failures.add("anonymous " + r[0] + " " + r[1] + " -> " + anonymous);
            int wrongKey = as("lam_not-a-key", r[0], r[1], r[2]).statusCode();
            if (wrongKey != 401) failures.add("unknown key " + r[0] + " " + r[1] + " -> " + wrongKey);
        }
        for (String[] r : reads) {
            int s = as(viewer, r[0], r[1], r[2]).statusCode();
            if (s == 401 || s == 403 || s >= 500) failures.add("viewer " + r[0] + " " + r[1] + " -> " + s);
        }
        for (String[] r : writes) {
            HttpResponse<String> v = as(viewer, r[0], r[1], r[2]);
            if (v.statusCode() != 403 || !v.body().contains("needs the operator role")) failures.add("viewer " + r[0] + " " + r[1] + " -> " + v.statusCode());
            int o = as(operator, r[0], r[1], r[2]).statusCode();
            if (o == 401 || o == 403 || o >= 500) failures.add("operator " + r[0] + " " + r[1] + " -> " + o);
        }
        for (String[] r : admin) {
            for (String k : List.of(viewer, operator)) {
                int s = as(k, r[0], r[1], r[2]).statusCode();
                if (s != 403) failures.add((k.equals(viewer) ? "viewer " : "operator ") + r[0] + " " + r[1] + " -> " + s);
            }
        }
        postJson("/api/streams/" + STREAM + "/resume", Map.of(), 200); // the operator's pause above
        assertThat(failures).isEmpty();
        assertThat(as(null, "GET", "/actuator/health", null).statusCode()).isEqualTo(200);
        assertThat(as(null, "GET", "/", null).statusCode()).isEqualTo(200);

        // keys: listed without secrets, revoked keys stop working, the last admin key stays
        String keys = getJson("/api/keys").toString();
        assertThat(keys).contains("ci viewer").doesNotContain(viewer).doesNotContain("key_hash");
        String viewerId = null;
        for (JsonNode k : getJson("/api/keys")) if (k.path("name").asText().equals("ci viewer")) viewerId = k.path("id").asText();
        assertThat(as(stack.adminKey(), "DELETE", "/api/keys/" + viewerId, null).statusCode()).isEqualTo(200);
        assertThat(as(viewer, "GET", "/api/streams", null).statusCode()).isEqualTo(401);
        assertThat(as(stack.adminKey(), "POST", "/api/keys", "{\"name\":\"x\",\"role\":\"root\"}").body()).contains("role must be one of");

        // services answer only the gateway and each other (shared secret), even to an admin key; health stays open
        for (int port : List.of(stack.ports().registry(), stack.ports().workflows(), stack.ports().composition())) {
            HttpResponse<String> direct = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/api/streams"))
                    .header("Authorization", "Bearer " + stack.adminKey()).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(direct.statusCode()).as("service on port %d", port).isEqualTo(401);
            assertThat(direct.body()).contains("through the gateway");
            assertThat(http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/actuator/health")).build(),
                    HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        }
    }

    @Test
    @Order(19)
    void theDashboardSignsInWithAKeyAndWritesNeedItsCsrfToken() throws Exception {
        java.net.CookieManager cookies = new java.net.CookieManager();
        HttpClient browser = HttpClient.newBuilder().cookieHandler(cookies).build();
        HttpResponse<String> page = browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/streams")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
        HttpResponse<String> wrong = browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/session"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"key\":\"nope\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(401);
        HttpResponse<String> signIn = browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/session"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                        "{\"key\":\"" + stack.adminKey() + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(signIn.statusCode()).as(signIn.body()).isEqualTo(200);
        assertThat(signIn.body()).contains("\"role\":\"admin\"");
        assertThat(signIn.headers().allValues("set-cookie").toString()).contains("HttpOnly");
        assertThat(browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/streams")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        String body = "{\"streamId\":\"s-from-dashboard\"}";
        HttpResponse<String> noToken = browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/streams"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(noToken.statusCode()).as("a write riding on the cookie alone is refused").isEqualTo(403);
        String token = cookies.getCookieStore().getCookies().stream().filter(c -> c.getName().equals("XSRF-TOKEN"))
                .map(java.net.HttpCookie::getValue).findFirst().orElseThrow();
        HttpResponse<String> withToken = browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/streams"))
                .header("Content-Type", "application/json").header("X-XSRF-TOKEN", token)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(withToken.statusCode()).as(withToken.body()).isEqualTo(201);
        assertThat(browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/session")).header("X-XSRF-TOKEN", token)
                .DELETE().build(), HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(204);
        assertThat(browser.send(HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + "/api/streams")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(401);
    }

    /**
     * The dashboard in a real, headless Chromium (Debian's chromium and chromedriver, which .ci/run
     * installs; skipped with the reason where they are absent): sign in; on the datasets page, a file with
     * bad rows is refused with each row named, then a good one is accepted; its task completes on the stream
     * page, with the matrix and the live training numbers (server-sent events); a prediction; the adapters
     * page searched, an adapter's and a merge's lineage graphs; a dataset's page; no sideways scrolling at a
     * phone's width. Screenshots go to target/screenshots.
     */
    @Test
    @Order(20)
    void theDashboardWorksInARealBrowser() throws Exception {
        Path chromium = Path.of("/usr/bin/chromium"), driverBinary = Path.of("/usr/bin/chromedriver");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isExecutable(chromium) && java.nio.file.Files.isExecutable(driverBinary),
                "needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver); .ci/run installs them");
        Path shots = Path.of("target", "screenshots");
        java.nio.file.Files.createDirectories(shots);
        Path csv = home.resolve("browser-upload.csv");
        StringBuilder rows = new StringBuilder("text,label\n");
        WEATHER_SPORTS.forEach((label, texts) -> texts.forEach(t -> rows.append('"').append(t).append("\",").append(label).append('\n')));
        java.nio.file.Files.writeString(csv, rows);

        var options = new org.openqa.selenium.chrome.ChromeOptions();
        options.setBinary(chromium.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1600");
        var service = new org.openqa.selenium.chrome.ChromeDriverService.Builder().usingDriverExecutable(driverBinary.toFile()).build();
        org.openqa.selenium.chrome.ChromeDriver browser;
        try {
            browser = new org.openqa.selenium.chrome.ChromeDriver(service, options);
        } catch (org.openqa.selenium.SessionNotCreatedException e) {
            // the machine cannot run a browser (e.g. a container without what Chromium needs): say so, do not pretend
            org.junit.jupiter.api.Assumptions.abort("Chromium could not start here: " + e.getRawMessage());
            return;
        }
        try {
            var wait = waitUpTo(browser, 30);
            browser.get(stack.gatewayUrl() + "/");
            wait.until(d -> d.findElement(org.openqa.selenium.By.id("sign-in-section")).isDisplayed());
            assertThat(browser.getTitle()).contains("Lamina");
            screenshot(browser, shots.resolve("1-sign-in.png"));
            browser.findElement(org.openqa.selenium.By.id("sign-in-key")).sendKeys(stack.adminKey());
            browser.findElement(org.openqa.selenium.By.cssSelector("#sign-in button[type=submit]")).click();
            wait.until(d -> d.findElement(org.openqa.selenium.By.id("streams-section")).isDisplayed());
            assertThat(browser.findElement(org.openqa.selenium.By.id("who")).getText()).contains("admin");

            // Datasets page: a file with bad rows gets a report naming each of them; then a good one is accepted
            click(browser, "#pages a[data-page=datasets]");
            wait.until(d -> d.getTitle().startsWith("Datasets") && d.findElement(org.openqa.selenium.By.id("upload")).isDisplayed());
            browser.findElement(org.openqa.selenium.By.id("upload-stream")).sendKeys("s-browser");
            browser.findElement(org.openqa.selenium.By.id("upload-task")).sendKeys("t1");
            Path bad = home.resolve("browser-bad.csv");
            java.nio.file.Files.writeString(bad, "text,label\n\"fine\",weather\n,sports\n\"no label\",\n");
            browser.findElement(org.openqa.selenium.By.id("upload-file")).sendKeys(bad.toAbsolutePath().toString());
            click(browser, "#upload button[type=submit]");
            wait.until(d -> d.findElement(org.openqa.selenium.By.id("upload-report")).getText().contains("Rejected"));
            String report = browser.findElement(org.openqa.selenium.By.id("upload-errors")).getText();
            assertThat(report).contains("line 3").contains("line 4");
            screenshot(browser, shots.resolve("2-upload-rejected.png"));
            browser.findElement(org.openqa.selenium.By.id("upload-file")).sendKeys(csv.toAbsolutePath().toString());
            click(browser, "#upload button[type=submit]");
            wait.until(d -> d.findElement(org.openqa.selenium.By.id("upload-report")).getText().contains("Accepted"));
            wait.until(d -> d.findElement(org.openqa.selenium.By.id("dataset-table")).getText().contains("s-browser"));
            screenshot(browser, shots.resolve("3-datasets.png"));

            // the stream page: the task completes, the matrix and the live training numbers show, a prediction runs
            click(browser, "#upload-stream-link");
            awaitDone("s-browser", 1, Duration.ofMinutes(4));
            var longWait = waitUpTo(browser, 60);
            // the page refreshes every 2 s: the matrix row can show before the promotion that follows the evaluation
            longWait.until(d -> d.findElement(org.openqa.selenium.By.id("stream-title")).getText().contains("s-browser")
                    && d.findElements(org.openqa.selenium.By.cssSelector("#matrix td")).stream().anyMatch(td -> td.getText().endsWith("%"))
                    && d.findElement(org.openqa.selenium.By.id("tasks")).getText().contains("PROMOTED"));
            assertThat(browser.getTitle()).startsWith("Stream s-browser");
            // the live view's EventSource is open, and shows the task's latest training step (sent on connect)
            longWait.until(d -> d.findElement(org.openqa.selenium.By.id("live-status")).getText().equals("live")
                    && d.findElement(org.openqa.selenium.By.id("live")).getText().contains("loss"));
            assertThat(browser.findElement(org.openqa.selenium.By.id("live")).getText()).contains("t1").contains("examples/s");
            browser.findElement(org.openqa.selenium.By.id("texts")).sendKeys("Heavy snow is falling on the mountains.");
            click(browser, "#playground button[type=submit]");
            longWait.until(d -> d.findElement(org.openqa.selenium.By.id("predictions")).getText().contains("weather"));
            assertThat(browser.findElement(org.openqa.selenium.By.id("predictions")).getText()).contains("router:");
            screenshot(browser, shots.resolve("4-stream.png"));
            assertNoSidewaysScrollAtPhoneWidth(browser, shots.resolve("5-stream-phone.png"));

            // Adapters page: search, then an adapter's detail with its lineage graph
            click(browser, "#pages a[data-page=adapters]");
            wait.until(d -> d.getTitle().startsWith("Adapters") && !d.findElements(org.openqa.selenium.By.cssSelector("#adapter-table td a")).isEmpty());
            browser.findElement(org.openqa.selenium.By.id("adapter-q")).sendKeys("s-browser");
            click(browser, "#adapter-filters button[type=submit]");
            wait.until(d -> d.findElement(org.openqa.selenium.By.id("adapters-range")).getText().equals("1–1 of 1"));
            assertThat(browser.findElement(org.openqa.selenium.By.id("adapter-table")).getText()).contains("s-browser").contains("PROMOTED");
            screenshot(browser, shots.resolve("6-adapters.png"));
            click(browser, "#adapter-table td a[href^='#adapter=']");
            wait.until(d -> !d.findElements(org.openqa.selenium.By.cssSelector("#lineage-svg [data-node]")).isEmpty());
            assertThat(browser.getTitle()).startsWith("Adapter s-browser v1");
            assertThat(browser.findElement(org.openqa.selenium.By.id("lineage")).getText()).contains("trained-on").contains("dataset");
            assertThat(browser.findElement(org.openqa.selenium.By.id("adapter-peft")).getAttribute("href")).endsWith("/peft");
            assertThat(browser.findElement(org.openqa.selenium.By.id("adapter-retire")).isDisplayed()).as("operators may retire").isTrue();
            // a merge's lineage: its inputs and what they came from
            String merged = null;
            for (JsonNode a : getJson("/api/adapters?streamId=" + STREAM).path("items")) {
                if (a.path("lineage").toString().contains("merged-from")) merged = a.path("adapterId").asText();
            }
            browser.get(stack.gatewayUrl() + "/#adapter=" + merged);
            wait.until(d -> d.findElements(org.openqa.selenium.By.cssSelector("#lineage-svg [data-node]")).size() >= 4);
            assertThat(browser.findElement(org.openqa.selenium.By.id("lineage")).getText()).contains("merged-from");
            assertThat(browser.findElement(org.openqa.selenium.By.id("lineage-legend")).getText()).contains("merged-from").contains("trained-on");
            screenshot(browser, shots.resolve("7-adapter-lineage.png"));
            assertNoSidewaysScrollAtPhoneWidth(browser, shots.resolve("8-adapter-phone.png"));
            // a dataset node leads to the dataset's page: its labels counted, its records listed
            click(browser, "#lineage-svg a[href^='#dataset=']");
            wait.until(d -> d.getTitle().startsWith("Dataset ") && !d.findElements(org.openqa.selenium.By.cssSelector("#dataset-labels td")).isEmpty());
            wait.until(d -> !d.findElements(org.openqa.selenium.By.cssSelector("#dataset-records td")).isEmpty());
            screenshot(browser, shots.resolve("9-dataset.png"));
            click(browser, "#pages a[data-page=datasets]");
            wait.until(d -> d.getTitle().startsWith("Datasets") && d.findElement(org.openqa.selenium.By.id("dataset-table")).getText().contains("s-browser"));
            assertNoSidewaysScrollAtPhoneWidth(browser, shots.resolve("10-datasets-phone.png"));

            // Generate page: once a generator is trained (from the first stream's adapters), an adapter for the
            // browser's task, its accuracy next to the trained adapter's
            click(browser, "#pages a[data-page=generate]");
            var generatorWait = waitUpTo(browser, 240);
            generatorWait.until(d -> {
                if (d.findElements(org.openqa.selenium.By.cssSelector("#generators td")).isEmpty()) {
                    d.navigate().refresh();
                    return false;
                }
                return true;
            });
            assertThat(browser.getTitle()).startsWith("Generate");
            browser.findElement(org.openqa.selenium.By.id("generate-stream")).sendKeys("s-browser");
            browser.findElement(org.openqa.selenium.By.id("generate-task")).sendKeys("t1");
            click(browser, "#generate-form button[type=submit]");
            longWait.until(d -> !d.findElements(org.openqa.selenium.By.id("generated-accuracy")).isEmpty());
            assertThat(browser.findElement(org.openqa.selenium.By.id("generate-result")).getText())
                    .contains("Generated").contains("the stream's trained adapter");
            wait.until(d -> d.findElement(org.openqa.selenium.By.id("generated")).getText().contains("s-browser"));
            screenshot(browser, shots.resolve("11-generate.png"));
            assertNoSidewaysScrollAtPhoneWidth(browser, shots.resolve("12-generate-phone.png"));
        } catch (Exception | AssertionError e) {
            // what the page showed when it went wrong
            screenshot(browser, shots.resolve("failure.png"));
            String shown = "the page " + browser.getCurrentUrl() + " titled '" + browser.getTitle() + "' showed the error '"
                    + browser.findElement(org.openqa.selenium.By.id("page-error")).getText() + "'";
            throw new AssertionError(shown, e);
        } finally {
            browser.quit();
        }
    }

    /**
     * A wait that looks again when the page replaced an element between finding and reading it: the stream page
     * re-renders its tables every 2 s, so an element found a moment ago can be gone.
     */
    private static org.openqa.selenium.support.ui.WebDriverWait waitUpTo(org.openqa.selenium.WebDriver browser, int seconds) {
        var wait = new org.openqa.selenium.support.ui.WebDriverWait(browser, Duration.ofSeconds(seconds));
        wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
        return wait;
    }

    /**
     * Live training progress: a viewer's key opens the stream's server-sent events before its task arrives, and
     * gets the steps of that task's training as they happen (from the training worker's Kafka events); anonymous
     * gets a 401. A client that connects later gets the latest step at once, and a client that goes away is dropped.
     */
    @Test
    @Order(21)
    void liveTrainingProgressArrivesAsServerSentEvents() throws Exception {
        String stream = "s-live";
        HttpResponse<String> anonymous = as(null, "GET", "/api/streams/" + stream + "/events", null);
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("content-type").orElse("")).contains("application/problem+json");
        HttpResponse<String> badId = as(stack.adminKey(), "GET", "/api/streams/-bad/events", null);
        assertThat(badId.statusCode()).as(badId.body()).isEqualTo(400);

        String viewer = postJson("/api/keys", Map.of("name", "live viewer", "role", "viewer"), 201).path("key").asText();
        var reader = java.util.concurrent.Executors.newSingleThreadExecutor();
        try {
            HttpResponse<java.util.stream.Stream<String>> events = http.send(HttpRequest.newBuilder(
                            URI.create(stack.gatewayUrl() + "/api/streams/" + stream + "/events"))
                    .header("Authorization", "Bearer " + viewer).header("Accept", "text/event-stream").build(),
                    HttpResponse.BodyHandlers.ofLines());
            assertThat(events.statusCode()).isEqualTo(200);
            assertThat(events.headers().firstValue("content-type").orElse("")).startsWith("text/event-stream");
            JsonNode p;
            try (var lines = events.body()) {
                // the job's "started" event (step 0, no loss yet) comes first; a training step after it
                var firstProgress = reader.submit(() -> nextProgress(lines.iterator(), e -> e.path("step").asInt() > 0));
                upload(stream, "t1", "Weather or sports news", WEATHER_SPORTS);
                p = firstProgress.get(4, java.util.concurrent.TimeUnit.MINUTES);
            }
            assertThat(p).as("a progress event before the stream closed").isNotNull();
            assertThat(p.path("streamId").asText()).isEqualTo(stream);
            assertThat(p.path("taskKey").asText()).isEqualTo("t1");
            assertThat(p.path("step").asInt()).isPositive();
            assertThat(p.path("totalSteps").asInt()).isGreaterThanOrEqualTo(p.path("step").asInt());
            assertThat(p.path("loss").asDouble()).isPositive().isLessThan(100);
            assertThat(p.path("examplesPerSecond").asDouble()).isPositive();
            assertThat(p.path("device").asText()).as("where the job trains").isEqualTo("cpu()");
            assertThat(p.path("eventId").asText()).isNotBlank();
            assertThat(p.has("taskToken")).as("the Temporal task token stays inside").isFalse();

            // a later client gets the latest step of the task at once (here: its last one)
            JsonNode done = awaitDone(stream, 1, Duration.ofMinutes(4));
            assertThat(done.path("tasks").get(0).path("status").asText()).isEqualTo("PROMOTED");
            HttpResponse<java.util.stream.Stream<String>> later = http.send(HttpRequest.newBuilder(
                            URI.create(stack.gatewayUrl() + "/api/streams/" + stream + "/events"))
                    .header("Authorization", "Bearer " + stack.adminKey()).build(), HttpResponse.BodyHandlers.ofLines());
            try (var lines = later.body()) {
                JsonNode last = reader.submit(() -> nextProgress(lines.iterator(), e -> true)).get(30, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(last.path("step").asInt()).isEqualTo(last.path("totalSteps").asInt());
            }
        } finally {
            reader.shutdownNow();
        }

        // clients that go away are dropped (noticed at the next keep-alive write, every 2 s here)
        java.util.List<java.net.Socket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                var socket = new java.net.Socket("localhost", stack.ports().gateway());
                socket.getOutputStream().write(("GET /api/streams/" + stream + "/events HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer "
                        + viewer + "\r\nAccept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                String head = new String(socket.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
                assertThat(head).isEqualTo("HTTP/1.1 200");
                sockets.add(socket);
            }
            assertThat(openEventStreams()).isGreaterThanOrEqualTo(3);
        } finally {
            for (var socket : sockets) socket.close();
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (openEventStreams() > 0 && System.nanoTime() < deadline) Thread.sleep(500);
        assertThat(openEventStreams()).as("open event streams after every client went away").isZero();
    }

    /** The data of the next {@code event: progress} on a server-sent event stream that {@code wanted} accepts, or null when it ends. */
    private static JsonNode nextProgress(java.util.Iterator<String> lines, java.util.function.Predicate<JsonNode> wanted) throws Exception {
        String event = null;
        while (lines.hasNext()) {
            String line = lines.next();
            if (line.isEmpty()) {
                event = null;
            } else if (line.startsWith("event:")) {
                event = line.substring(6).strip();
            } else if (line.startsWith("data:") && "progress".equals(event)) {
                JsonNode data = Json.mapper().readTree(line.substring(5).strip());
                if (wanted.test(data)) return data;
            }
        }
        return null;
    }

    /** The gateway's gauge of open server-sent event streams. */
    private double openEventStreams() throws Exception {
        return getJson("/actuator/metrics/lamina.gateway.event.streams").path("measurements").get(0).path("value").asDouble();
    }

    private static void click(org.openqa.selenium.chrome.ChromeDriver browser, String css) {
        browser.findElement(org.openqa.selenium.By.cssSelector(css)).click();
    }

    /** At a phone's width (390 px) the page does not scroll sideways (wide tables and graphs scroll inside themselves). */
    private static void assertNoSidewaysScrollAtPhoneWidth(org.openqa.selenium.chrome.ChromeDriver browser, Path shot) throws Exception {
        var desktop = browser.manage().window().getSize();
        browser.manage().window().setSize(new org.openqa.selenium.Dimension(390, 844));
        Thread.sleep(500);
        Number overflow = (Number) browser.executeScript("return document.documentElement.scrollWidth - window.innerWidth;");
        screenshot(browser, shot);
        browser.manage().window().setSize(desktop);
        assertThat(overflow.intValue()).as("horizontal overflow at 390 px on %s", browser.getTitle()).isLessThanOrEqualTo(1);
    }

    private static void screenshot(org.openqa.selenium.chrome.ChromeDriver browser, Path file) throws Exception {
        java.nio.file.Files.write(file, browser.getScreenshotAs(org.openqa.selenium.OutputType.BYTES));
    }

    private void upload(String stream, String taskKey, String name, Map<String, List<String>> byLabel) throws Exception {
        HttpResponse<String> r = post("/api/datasets", dataset(stream, taskKey, name, byLabel));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
    }

    /** The last 3 sentences of each label are the test split. */
    private static Map<String, Object> dataset(String stream, String taskKey, String name, Map<String, List<String>> byLabel) {
        List<Map<String, String>> train = new ArrayList<>();
        List<Map<String, String>> test = new ArrayList<>();
        List<String> labels = byLabel.keySet().stream().sorted().toList();
        for (String label : labels) {
            List<String> texts = byLabel.get(label);
            for (int i = 0; i < texts.size(); i++) {
                (i < texts.size() - 3 ? train : test).add(Map.of("text", texts.get(i), "label", label));
            }
        }
        return Map.of("streamId", stream, "taskKey", taskKey, "name", name, "description", name,
                "labels", labels, "train", train, "test", test);
    }

    @Test
    @Order(22)
    void generatorsTrainFromTheRegistryAndGenerateRegisteredAdaptersThatWarmStartTraining() throws Exception {
        // the first stream's adapters (3 >= train-after) started a training workflow per method
        JsonNode versions = null;
        for (int i = 0; i < 240; i++) {
            versions = getJson("/api/hypernetwork/generators");
            Set<String> methods = new HashSet<>();
            versions.forEach(v -> methods.add(v.path("method").asText()));
            if (methods.containsAll(List.of("icm-lora", "generative-adapter"))) break;
            Thread.sleep(1000);
        }
        Map<String, JsonNode> byMethod = new java.util.HashMap<>();
        versions.forEach(v -> byMethod.putIfAbsent(v.path("method").asText(), v));
        assertThat(byMethod).as("generator versions: %s", versions).containsKeys("icm-lora", "generative-adapter");
        JsonNode icm = byMethod.get("icm-lora");
        assertThat(icm.path("trainingAdapters").asInt()).isGreaterThanOrEqualTo(3);
        // trajectory snapshots: several per trained adapter (up to 4; a run of a few steps has fewer distinct ones)
        assertThat(icm.path("samples").asInt()).isGreaterThan(icm.path("trainingAdapters").asInt());
        assertThat(byMethod.get("generative-adapter").path("trainingAdapters").asInt()).as("datasets meta-trained on").isGreaterThanOrEqualTo(3);

        // GenerativeAdapter from pasted examples: registered, with lineage to its generator, and serving predictions
        List<SupersenseStream.TaskData> data = MINI.data();
        List<Map<String, String>> examples = new ArrayList<>();
        for (var e : data.get(1).train()) examples.add(Map.of("text", e.text(), "label", e.label()));
        JsonNode ga = postJson("/api/hypernetwork/generate", Map.of("description", "pasted examples", "examples", examples,
                "method", "generative-adapter"), 201);
        assertThat(ga.path("method").asText()).isEqualTo("generative-adapter");
        assertThat(ga.path("streamId").asText()).isEqualTo("playground");
        assertThat(ga.path("labels")).hasSize(3);
        assertThat(ga.path("generationMillis").asDouble()).isPositive();
        JsonNode registered = getJson("/api/adapters/" + ga.path("adapterId").asText());
        assertThat(registered.path("lineage").toString()).contains("generated-by").contains(byMethod.get("generative-adapter").path("generatorId").asText());
        JsonNode prediction = postJson("/api/predict", Map.of("texts", List.of(data.get(1).test().get(0).text()),
                "adapters", List.of(Map.of("id", ga.path("adapterId").asText()))), 200);
        assertThat(data.get(1).labels()).contains(prediction.path("predictions").get(0).path("label").asText());

        // ICM-LoRA for a stored task: examples from its dataset, accuracy on its test split
        JsonNode icmAdapter = postJson("/api/hypernetwork/generate", Map.of("streamId", STREAM, "taskKey", data.get(2).taskKey(),
                "method", "icm-lora"), 201);
        assertThat(icmAdapter.path("method").asText()).isEqualTo("icm-lora");
        assertThat(icmAdapter.path("evaluation").path("testExamples").asInt()).isEqualTo(data.get(2).test().size());
        assertThat(icmAdapter.path("evaluation").path("accuracy").asDouble()).isBetween(0.0, 1.0);
        assertThat(getJson("/api/hypernetwork/generated").toString()).contains(icmAdapter.path("adapterId").asText());

        // bad requests are precise
        assertThat(as(stack.adminKey(), "POST", "/api/hypernetwork/generate", "{\"examples\":[{\"text\":\"a\",\"label\":\"x\"}]}").body())
                .contains("at least 2 labels");
        assertThat(as(stack.adminKey(), "POST", "/api/hypernetwork/generate",
                "{\"method\":\"magic\",\"examples\":[{\"text\":\"a\",\"label\":\"x\"},{\"text\":\"b\",\"label\":\"y\"}]}").body())
                .contains("unknown generation method 'magic'");

        // hypernetwork-warm-start: the stream's task trains from an adapter generated for it
        postJson("/api/streams", Map.of("streamId", "s-hyper", "policy", Map.of("strategy", "hypernetwork-warm-start")), 201);
        DemoStream hyper = new DemoStream("s-hyper", 1, 3, 16, 8, 23);
        hyper.publish(stack.kafkaBrokers());
        JsonNode done = null;
        for (int i = 0; i < 480; i++) {
            done = getJson("/api/streams/s-hyper");
            if (done.path("tasks").size() == 1 && done.path("tasks").get(0).path("status").asText().matches("PROMOTED|REJECTED|FAILED")) break;
            Thread.sleep(500);
        }
        assertThat(done.path("tasks").get(0).path("status").asText()).isEqualTo("PROMOTED");
        String trainedId = done.path("tasks").get(0).path("adapterId").asText();
        JsonNode trained = getJson("/api/adapters/" + trainedId);
        String warmFrom = null;
        for (JsonNode edge : trained.path("lineage")) if (edge.path("relation").asText().equals("warm-started-from")) warmFrom = edge.path("parentId").asText();
        assertThat(warmFrom).as("lineage %s", trained.path("lineage")).isNotNull();
        assertThat(getJson("/api/adapters/" + warmFrom).path("lineage").toString()).contains("generated-by");
    }

    private JsonNode awaitStreamDone(int tasks, Duration timeout) throws Exception {
        return awaitDone(STREAM, tasks, timeout);
    }

    private JsonNode awaitDone(String streamId, int tasks, Duration timeout) throws Exception {
        return api.awaitStream(streamId, timeout, StackClient.finished(tasks));
    }

    private ConsumerRecord<String, byte[]> awaitRecord(String topic, String marker, Duration timeout) {
        Map<String, Object> config = Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBrokers(),
                ConsumerConfig.GROUP_ID_CONFIG, "test-" + System.nanoTime(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        try (var consumer = new KafkaConsumer<>(config, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(topic));
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (new String(r.value(), StandardCharsets.UTF_8).equals(marker)) return r;
                }
            }
        }
        throw new AssertionError("no record '" + marker + "' on " + topic + " within " + timeout);
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + stack.adminKey());
    }

    private JsonNode getJson(String path) throws Exception {
        return api.get(path);
    }

    private HttpResponse<String> post(String path, Object body) throws Exception {
        return api.post(path, body);
    }

    private JsonNode postJson(String path, Object body, int expectedStatus) throws Exception {
        HttpResponse<String> r = post(path, body);
        assertThat(r.statusCode()).as("POST %s: %s", path, r.body()).isEqualTo(expectedStatus);
        return Json.mapper().readTree(r.body());
    }
}

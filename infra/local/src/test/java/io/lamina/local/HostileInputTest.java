package io.lamina.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.contracts.Json;
import io.lamina.contracts.Topics;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
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

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hostile input against the whole platform: a thousand fuzzed upstream events (each must end in the
 * dead-letter topic with a reason, or in a precise {@code DatasetRejected}, and only the valid ones
 * are stored, without stalling the consumer), the dead-letter operator API, and fuzzed requests to
 * every write endpoint through the gateway (always a 4xx problem, never a 5xx, nothing written).
 * Everything random comes from one seeded {@link Random}, so a failure reproduces.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputTest {
    private static final long SEED = 20_261_127L;
    private static final int EVENTS = 1000;
    private static final String STREAM = "hostile-valid";
    private static final String REJECTS = "hostile-rejects";
    private static final String DLQ = Topics.deadLetter(Topics.UPSTREAM_DATASETS);
    private static final int MB = 1024 * 1024;

    @TempDir
    static Path home;
    private EmbeddedStack stack;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    private final Random random = new Random(SEED);

    /** What each fuzzed event (Kafka key {@code fuzz-<i>}) must become. */
    private enum Fate { DEAD_LETTER, REJECTED, INGESTED }

    private record Fuzz(String kind, byte[] payload, Fate fate, String expected) {
    }

    private final Map<String, Fuzz> sent = new TreeMap<>();

    @BeforeAll
    void start() throws Exception {
        stack = EmbeddedStack.start(home, StackPorts.free(),
                "--lamina.workflows.default-policy.strategy=per-task-retrieval",
                "--lamina.workflows.default-policy.training.epochs=1",
                "--lamina.workflows.default-policy.training.batch-size=8");
    }

    @AfterAll
    void stop() {
        if (stack != null) stack.close();
    }

    // ---------------------------------------------------------------- upstream fuzzing

    @Test
    @Order(1)
    void fuzzedUpstreamEventsAreDeadLetteredOrRejectedAndOnlyValidOnesAreStored() throws Exception {
        int[] validAt = {EVENTS / 10, EVENTS / 2, EVENTS * 9 / 10};
        int validIndex = 0;
        for (int i = 0; i < EVENTS; i++) {
            String key = "fuzz-" + i;
            if (validIndex < validAt.length && i == validAt[validIndex]) {
                validIndex++;
                sent.put(key, new Fuzz("valid", bytes(validDataset(key, "t" + validIndex, validIndex - 1)), Fate.INGESTED, null));
            } else {
                sent.put(key, fuzz(key, i));
            }
        }
        long t0 = System.nanoTime();
        try (var producer = producer()) {
            for (Map.Entry<String, Fuzz> e : sent.entrySet()) {
                producer.send(new ProducerRecord<>(Topics.UPSTREAM_DATASETS, e.getKey(), e.getValue().payload()));
            }
            producer.flush();
        }
        Set<String> dlqExpected = keysWith(Fate.DEAD_LETTER);
        Set<String> rejectedExpected = keysWith(Fate.REJECTED);
        Set<String> ingestedExpected = keysWith(Fate.INGESTED);
        assertThat(dlqExpected).hasSizeGreaterThan(300);
        assertThat(rejectedExpected).hasSizeGreaterThan(300);

        Map<String, String> deadReasons = new TreeMap<>();
        Map<String, List<String>> rejectedReasons = new TreeMap<>();
        Map<String, String> ingested = new TreeMap<>();
        Duration timeout = Duration.ofSeconds(120);
        long deadline = System.nanoTime() + timeout.toNanos();
        long quiet = Duration.ofSeconds(15).toNanos();
        long lastNews = System.nanoTime();
        int seen = 0;
        try (var dead = consumer(DLQ); var events = consumer(Topics.DATASET_EVENTS)) {
            while (System.nanoTime() < deadline && System.nanoTime() - lastNews < quiet && (deadReasons.size() < dlqExpected.size()
                    || rejectedReasons.size() < rejectedExpected.size() || ingested.size() < ingestedExpected.size())) {
                for (ConsumerRecord<String, byte[]> r : dead.poll(Duration.ofMillis(200))) {
                    if (r.key() != null && r.key().startsWith("fuzz-")) {
                        assertThat(deadReasons.put(r.key(), header(r, "x-exception-message"))).as("dead-lettered twice: %s", r.key()).isNull();
                    }
                }
                for (ConsumerRecord<String, byte[]> r : events.poll(Duration.ofMillis(200))) {
                    JsonNode event = Json.mapper().readTree(r.value());
                    String source = event.path("sourceEventId").asText("");
                    if (!source.startsWith("fuzz-")) continue;
                    switch (event.path("type").asText()) {
                        case "DatasetRejected" -> {
                            List<String> reasons = new ArrayList<>();
                            event.path("reasons").forEach(n -> reasons.add(n.asText()));
                            assertThat(rejectedReasons.put(source, reasons)).as("rejected twice: %s", source).isNull();
                        }
                        case "DatasetIngested" -> ingested.put(source, event.path("datasetId").asText());
                        default -> { }
                    }
                }
                int now = deadReasons.size() + rejectedReasons.size() + ingested.size();
                if (now != seen) {
                    seen = now;
                    lastNews = System.nanoTime();
                }
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("HostileInputTest: %d fuzzed events handled in %.1f s (%d dead letters, %d rejected, %d ingested)%n",
                EVENTS, seconds, deadReasons.size(), rejectedReasons.size(), ingested.size());

        // Every event has exactly its expected fate, with its reason.
        List<String> wrong = new ArrayList<>();
        for (Map.Entry<String, Fuzz> e : sent.entrySet()) {
            String key = e.getKey();
            Fuzz f = e.getValue();
            String dead = deadReasons.get(key);
            List<String> rejected = rejectedReasons.get(key);
            boolean stored = ingested.containsKey(key);
            String actual = (dead != null ? "DEAD_LETTER(" + dead + ") " : "") + (rejected != null ? "REJECTED" + rejected + " " : "")
                    + (stored ? "INGESTED" : "");
            boolean ok = switch (f.fate()) {
                case DEAD_LETTER -> dead != null && rejected == null && !stored && !dead.isBlank()
                        && (f.expected() == null || dead.contains(f.expected()));
                case REJECTED -> dead == null && rejected != null && !stored && String.join("; ", rejected).contains(f.expected());
                case INGESTED -> dead == null && rejected == null && stored;
            };
            if (!ok) wrong.add(key + " " + f.kind() + ": expected " + f.fate() + (f.expected() == null ? "" : " '" + f.expected() + "'")
                    + ", got " + (actual.isBlank() ? "nothing" : abbreviate(actual)));
        }
        assertThat(wrong).as("events whose fate differs from the expected one").isEmpty();
        assertThat(ingested.keySet()).as("ingested events").isEqualTo(ingestedExpected);

        // Only the valid datasets were stored, of the valid stream; nothing of the rejected ones.
        assertThat(getJson("/api/datasets?streamId=" + STREAM).path("items")).hasSize(3);
        assertThat(getJson("/api/datasets?streamId=" + REJECTS).path("items")).isEmpty();
        assertThat(getJson("/api/datasets?size=1000").path("items")).hasSize(3);

        // The consumer did not stall: a valid event after all the garbage is stored within seconds.
        long t1 = System.nanoTime();
        try (var producer = producer()) {
            producer.send(new ProducerRecord<>(Topics.UPSTREAM_DATASETS, "after-garbage",
                    bytes(validDataset("after-garbage", "t4", 3)))).get();
        }
        awaitDatasets(STREAM, 4, Duration.ofSeconds(10));
        System.out.printf("HostileInputTest: valid event after the garbage stored in %.1f s%n", (System.nanoTime() - t1) / 1e9);
    }

    /** One fuzzed event, chosen by the seeded random; every kind knows its fate. */
    private Fuzz fuzz(String key, int i) {
        int kind = random.nextInt(100);
        ObjectNode base = validDataset(key, "r" + i, random.nextInt(4));
        base.put("streamId", REJECTS);
        // A few huge ones (2 MB), spread out: enough to prove they are handled, not so many that they dominate.
        if (i % 200 == 37) {
            return new Fuzz("huge-not-json", concat(ascii("#" + key + " "), randomText(2 * MB).getBytes(StandardCharsets.UTF_8)),
                    Fate.DEAD_LETTER, "not valid JSON");
        }
        if (i % 200 == 137) {
            ((ObjectNode) base.withArray("train").get(0)).put("text", randomText(2 * MB));
            return new Fuzz("huge-text", bytes(base), Fate.REJECTED, "longer than 5000 characters");
        }
        if (kind < 6) {
            byte[] noise = new byte[1 + random.nextInt(300)];
            random.nextBytes(noise);
            return new Fuzz("random-bytes", concat(ascii("#" + key + " "), noise), Fate.DEAD_LETTER, null);
        }
        if (kind < 12) {
            // Invalid UTF-8 inside a JSON string: a lone continuation byte, an overlong form, a truncated sequence.
            byte[][] bad = {{(byte) 0x80}, {(byte) 0xC0, (byte) 0xAF}, {(byte) 0xE2, (byte) 0x28, (byte) 0xA1}, {(byte) 0xFF}};
            String json = base.toString();
            int at = json.indexOf("\"name\":\"") + 8;
            byte[] head = json.substring(0, at).getBytes(StandardCharsets.UTF_8);
            byte[] tail = json.substring(at).getBytes(StandardCharsets.UTF_8);
            return new Fuzz("invalid-utf8", concat(head, concat(bad[random.nextInt(bad.length)], tail)), Fate.DEAD_LETTER, "not valid UTF-8");
        }
        if (kind < 20) {
            String[] notObjects = {"[\"" + key + "\", 1, 2]", "\"" + key + "\"", "42", "null", "true", "[" + base + "]", "-0.0e7"};
            return new Fuzz("non-object", ascii(notObjects[random.nextInt(notObjects.length)]), Fate.DEAD_LETTER, "not a JSON object");
        }
        if (kind < 27) {
            Object[] versions = {2, 0, -1, 99, Integer.MAX_VALUE, 1.5, 1e10, "1", "v2", true};
            Object v = versions[random.nextInt(versions.length)];
            base.set("schemaVersion", Json.mapper().valueToTree(v));
            return new Fuzz("schema-version " + v, bytes(base), Fate.DEAD_LETTER, "schemaVersion");
        }
        if (kind < 33) {
            String[] fields = {"schemaVersion", "occurredAt"};
            String[] tokens = {"NaN", "Infinity", "-Infinity", "+Infinity"};
            String token = tokens[random.nextInt(tokens.length)];
            String field = fields[random.nextInt(fields.length)];
            base.remove(field);
            String json = base.toString();
            json = "{\"" + field + "\":" + token + "," + json.substring(1);
            return new Fuzz("non-finite " + field + "=" + token, ascii(json), Fate.DEAD_LETTER, "not valid JSON");
        }
        if (kind < 42) {
            String[][] wrong = {{"labels", "\"a,b\""}, {"train", "{}"}, {"test", "5"}, {"train", "[\"just text\"]"},
                    {"name", "{\"x\":1}"}, {"occurredAt", "\"yesterday\""}, {"eventId", "[1]"}, {"labels", "{\"a\":1}"},
                    {"train", "[[\"a\",\"b\"]]"}, {"description", "[]"}};
            String[] w = wrong[random.nextInt(wrong.length)];
            base.remove(w[0]);
            String json = base.toString();
            json = "{\"" + w[0] + "\":" + w[1] + "," + json.substring(1);
            return new Fuzz("wrong-type " + w[0] + "=" + w[1], ascii(json), Fate.DEAD_LETTER, "invalid DatasetAnnounced");
        }
        if (kind < 46) {
            if (random.nextBoolean()) base.remove("eventId");
            else base.put("eventId", "   ");
            return new Fuzz("no-event-id", bytes(base), Fate.DEAD_LETTER, "no eventId");
        }
        if (kind < 49) {
            base.put("type", random.nextBoolean() ? "TrainAdapter" : "NoSuchType");
            return new Fuzz("wrong-message-type", bytes(base), Fate.DEAD_LETTER, "expected type");
        }
        if (kind < 53) {
            String json = base.toString();
            return new Fuzz("truncated", ascii(json.substring(0, 1 + random.nextInt(json.length() - 2))), Fate.DEAD_LETTER, "not valid JSON");
        }
        if (kind < 55) {
            return new Fuzz("deeply-nested", ascii("{\"eventId\":\"" + key + "\",\"x\":" + "[".repeat(1000) + "]".repeat(1000) + "}"),
                    Fate.DEAD_LETTER, "nesting depth");
        }
        if (kind < 57) {
            return new Fuzz("empty", new byte[0], Fate.DEAD_LETTER, null);
        }
        if (kind < 58) {
            return new Fuzz("random-json", ascii(randomJson(4).toString()), Fate.DEAD_LETTER, null);
        }
        // Readable but invalid: a DatasetRejected naming the problem.
        int rejected = kind % 10;
        switch (rejected) {
            case 0 -> {
                ((ObjectNode) base.withArray("train").get(random.nextInt(4))).put("label", "zebra");
                return new Fuzz("label-outside-set", bytes(base), Fate.REJECTED, "'zebra' is not in labels");
            }
            case 1 -> {
                // An empty test split is not an error (one is held out of train); an empty train is.
                String split = "train";
                base.putArray(split);
                return new Fuzz("empty-split", bytes(base), Fate.REJECTED, split + " must have at least one record");
            }
            case 2 -> {
                base.remove("name");
                return new Fuzz("no-name", bytes(base), Fate.REJECTED, "name is required");
            }
            case 3 -> {
                base.put("streamId", random.nextBoolean() ? "../../etc/passwd" : "a b");
                return new Fuzz("bad-stream-id", bytes(base), Fate.REJECTED, "streamId '");
            }
            case 4 -> {
                ((ObjectNode) base.withArray("test").get(0)).put("text", "bell\u0007 and null\u0000");
                return new Fuzz("control-chars", bytes(base), Fate.REJECTED, "control characters");
            }
            case 5 -> {
                base.remove("labels");
                return new Fuzz("no-labels", bytes(base), Fate.REJECTED, "labels must list at least one label");
            }
            case 6 -> {
                base.withArray("labels").add(base.withArray("labels").get(0).asText());
                return new Fuzz("duplicate-label", bytes(base), Fate.REJECTED, "is listed twice");
            }
            case 7 -> {
                base.withArray("train").set(1, Json.mapper().getNodeFactory().nullNode());
                return new Fuzz("null-record", bytes(base), Fate.REJECTED, "train[1] is null");
            }
            case 8 -> {
                base.withArray("test").set(0, base.withArray("train").get(0).deepCopy());
                return new Fuzz("leakage", bytes(base), Fate.REJECTED, "train/test leakage");
            }
            default -> {
                base.withArray("train").add(base.withArray("train").get(0).deepCopy());
                return new Fuzz("duplicate-record", bytes(base), Fate.REJECTED, "duplicates train[0]");
            }
        }
    }

    // ---------------------------------------------------------------- dead-letter API

    @Test
    @Order(2)
    void deadLettersAreListedWithReasonsAndReplayedAtMostOnce() throws Exception {
        JsonNode page = getJson("/api/dead-letters?topic=" + DLQ + "&limit=1000");
        Map<String, JsonNode> byKey = new HashMap<>();
        for (JsonNode item : page.path("items")) {
            assertThat(item.path("topic").asText()).isEqualTo(DLQ);
            assertThat(item.path("originalTopic").asText()).isEqualTo(Topics.UPSTREAM_DATASETS);
            assertThat(item.path("reason").asText()).isNotBlank();
            assertThat(item.path("payload").asText().length()).isLessThanOrEqualTo(8192);
            byKey.put(item.path("key").asText(), item);
        }
        assertThat(byKey.keySet()).containsAll(keysWith(Fate.DEAD_LETTER));
        JsonNode huge = sent.entrySet().stream().filter(e -> e.getValue().kind().equals("huge-not-json"))
                .map(e -> byKey.get(e.getKey())).findFirst().orElseThrow();
        assertThat(huge.path("truncated").asBoolean()).isTrue();
        assertThat(huge.path("payloadBytes").asInt()).isGreaterThan(2 * MB);
        // All dead-letter topics at once.
        JsonNode all = getJson("/api/dead-letters?limit=5");
        assertThat(all.path("items")).hasSize(5);

        // Replaying a still-bad record sends it back through ingestion, which dead-letters it again.
        String key = sent.entrySet().stream().filter(e -> e.getValue().kind().equals("non-object"))
                .map(Map.Entry::getKey).findFirst().orElseThrow();
        JsonNode letter = byKey.get(key);
        Map<String, Object> replay = Map.of("topic", DLQ, "partition", letter.path("partition").asInt(),
                "offset", letter.path("offset").asLong());
        long endBefore = endOffset(DLQ);
        HttpResponse<String> first = post("/api/dead-letters/replay", replay);
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(Json.mapper().readTree(first.body()).path("replayedAt").asText()).isNotBlank();
        ConsumerRecord<String, byte[]> again = awaitKeyAfter(DLQ, key, endBefore, Duration.ofSeconds(30));
        assertThat(header(again, "x-exception-message")).contains("not a JSON object");
        assertThat(again.value()).isEqualTo(sent.get(key).payload());

        HttpResponse<String> second = post("/api/dead-letters/replay", replay);
        assertProblem(second, 409, "already replayed");
        assertThat(getJson("/api/dead-letters/" + DLQ + "/" + letter.path("partition").asInt() + "/" + letter.path("offset").asLong())
                .path("replayedAt").asText()).isNotBlank();

        // Precise refusals of bad replays.
        assertProblem(post("/api/dead-letters/replay", Map.of("topic", Topics.UPSTREAM_DATASETS, "partition", 0, "offset", 0)), 400, "not a dead-letter topic");
        assertProblem(post("/api/dead-letters/replay", Map.of("topic", DLQ, "partition", 0, "offset", 1_000_000)), 404, "no dead letter");
        assertProblem(post("/api/dead-letters/replay", Map.of("topic", DLQ, "partition", 7, "offset", 0)), 404, "no partition 7");
        assertProblem(post("/api/dead-letters/replay", Map.of("topic", "nothing.here.dlq", "partition", 0, "offset", 0)), 404, "no dead-letter topic");
        assertProblem(post("/api/dead-letters/replay", Map.of("topic", DLQ, "offset", 0)), 400, "partition is required");
        assertProblem(send("GET", "/api/dead-letters?limit=0", null, null), 400, "limit");
        assertProblem(send("GET", "/api/dead-letters?topic=../../etc/passwd", null, null), 400, "not a dead-letter topic");
    }

    // ---------------------------------------------------------------- REST fuzzing

    @Test
    @Order(3)
    void fuzzedRequestsToEveryWriteEndpointGetA4xxProblemAndWriteNothing() throws Exception {
        // The valid tasks train in the background; wait for them so that the counts stand still.
        awaitTasksDone(STREAM, 4, Duration.ofMinutes(3));
        Map<String, Integer> before = counts();
        String bigText = "x".repeat(1000);
        List<String[]> endpoints = List.of(
                new String[]{"POST", "/api/datasets"}, new String[]{"POST", "/api/merges"}, new String[]{"POST", "/api/predict"},
                new String[]{"POST", "/api/streams/" + STREAM + "/predict"}, new String[]{"PUT", "/api/streams/" + STREAM + "/policy"},
                new String[]{"POST", "/api/adapters"}, new String[]{"POST", "/api/evaluations/adapters"},
                new String[]{"POST", "/api/dead-letters/replay"}, new String[]{"POST", "/api/streams"},
                new String[]{"POST", "/api/embeddings"}, new String[]{"POST", "/api/adapters/import"});
        byte[] oversized = oversizedBody(60 * MB);
        Map<String, byte[]> bodies = new LinkedHashMap<>();
        bodies.put("malformed", ascii("{\"texts\": [\"a\", "));
        bodies.put("trailing-garbage", ascii("{} }"));
        bodies.put("deep-1000", ascii("{\"a\":" + "[".repeat(1000) + "]".repeat(1000) + "}"));
        bodies.put("deep-object-1000", ascii("{\"a\":".repeat(1000) + "1" + "}".repeat(1000)));
        bodies.put("array", ascii("[1,2,3]"));
        bodies.put("string", ascii("\"" + bigText + "\""));
        bodies.put("number", ascii("42"));
        bodies.put("null", ascii("null"));
        bodies.put("empty-object", ascii("{}"));
        bodies.put("wrong-types", ascii("{\"streamId\":[1],\"texts\":5,\"adapters\":\"x\",\"method\":{},\"adapterIds\":7,"
                + "\"labels\":\"a\",\"training\":\"fast\",\"topic\":[],\"partition\":\"zero\",\"offset\":{}}"));
        bodies.put("nan", ascii("{\"texts\":[\"a\"],\"weight\":NaN,\"partition\":NaN,\"minAverageAccuracy\":NaN}"));
        bodies.put("nulls-everywhere", ascii("{\"texts\":[null],\"adapters\":[null],\"adapterIds\":[null],\"datasetIds\":[null],"
                + "\"train\":[null],\"labels\":[null],\"params\":null,\"topic\":null,\"adapter\":null}"));
        bodies.put("invalid-utf8", concat(ascii("{\"texts\":[\""), new byte[]{(byte) 0xC3, (byte) 0x28, (byte) 0xFF}, ascii("\"]}")));
        bodies.put("huge-number", ascii("{\"partition\":1" + "0".repeat(2000) + ",\"offset\":1e400,\"seed\":" + "9".repeat(5000) + "}"));
        bodies.put("traversal", ascii(Json.mapper().writeValueAsString(Map.of(
                "adapterId", "../../etc/passwd", "streamId", "../../etc", "taskKey", "..", "blobKey", "../../etc/passwd",
                "sha256", "../../../etc/shadow", "adapterIds", List.of("../../etc/passwd"), "datasetIds", List.of("../x"),
                "adapters", List.of(Map.of("id", "../../etc/passwd", "weight", 1.0)), "method", "linear",
                "topic", "../../etc/passwd"))));
        bodies.put("oversized", oversized);

        List<String> failures = new ArrayList<>();
        for (String[] endpoint : endpoints) {
            for (Map.Entry<String, byte[]> body : bodies.entrySet()) {
                check(failures, endpoint[0], endpoint[1], "application/json", body.getKey(), body.getValue());
            }
            check(failures, endpoint[0], endpoint[1], "application/json", "empty-body", new byte[0]);
            check(failures, endpoint[0], endpoint[1], "text/plain", "text/plain", ascii("{}"));
            check(failures, endpoint[0], endpoint[1], "application/xml", "xml", ascii("<a>1</a>"));
            check(failures, endpoint[0], endpoint[1], "application/x-www-form-urlencoded", "form", ascii("a=1&b=2"));
            check(failures, endpoint[0], endpoint[1], "multipart/form-data; boundary=zz", "multipart", ascii("--zz\r\n\r\nx\r\n--zz--\r\n"));
            check(failures, endpoint[0], endpoint[1], null, "no-content-type", ascii("{}"));
        }
        // PEFT imports: zip-slip, a zip bomb, a lying safetensors header, pickle, not a zip, no file.
        for (Map.Entry<String, byte[]> upload : hostileImports().entrySet()) {
            String boundary = "lamina-hostile";
            byte[] body = concat(ascii("--" + boundary + "\r\nContent-Disposition: form-data; name=\"streamId\"\r\n\r\n" + STREAM
                    + "\r\n--" + boundary + "\r\nContent-Disposition: form-data; name=\"taskKey\"\r\n\r\ntask-1\r\n--" + boundary
                    + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.zip\"\r\nContent-Type: application/zip\r\n\r\n"),
                    upload.getValue(), ascii("\r\n--" + boundary + "--\r\n"));
            check(failures, "POST", "/api/adapters/import", "multipart/form-data; boundary=" + boundary, upload.getKey(), body);
        }
        // Traversal and junk in path ids.
        for (String id : List.of("..%2F..%2Fetc%2Fpasswd", "%2e%2e", "a%00b", "x".repeat(300), "%F0%28%8C%28")) {
            check(failures, "POST", "/api/streams/" + id + "/predict", "application/json", "id " + id, ascii("{\"texts\":[\"hello\"]}"));
            check(failures, "PUT", "/api/streams/" + id + "/policy", "application/json", "id " + id, ascii("{}"));
        }
        // Known-valid shape with hostile content.
        check(failures, "POST", "/api/adapters", "application/json", "registration-traversal", ascii(Json.mapper().writeValueAsString(Map.of(
                "adapterId", "00000000-0000-0000-0000-000000000001", "streamId", STREAM, "taskKey", "t9",
                "blobKey", "../../etc/passwd", "sha256", "0".repeat(64), "description", "evil"))));
        check(failures, "POST", "/api/predict", "application/json", "predict-traversal", ascii(Json.mapper().writeValueAsString(Map.of(
                "texts", List.of("hello"), "adapters", List.of(Map.of("id", "../../etc/passwd", "weight", 1.0)), "mode", "single"))));
        assertThat(failures).as("requests answered with something other than a 4xx problem").isEmpty();
        assertThat(counts()).as("nothing was written").isEqualTo(before);
    }

    private static byte[] zip(Map<String, byte[]> entries) throws java.io.IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        try (var z = new java.util.zip.ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                z.putNextEntry(new java.util.zip.ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return out.toByteArray();
    }

    private static Map<String, byte[]> hostileImports() throws java.io.IOException {
        byte[] config = ascii("{\"peft_type\":\"LORA\",\"r\":8,\"lora_alpha\":16,\"target_modules\":[\"query\",\"value\"],\"bias\":\"none\"}");
        Map<String, byte[]> out = new LinkedHashMap<>();
        out.put("zip-slip", zip(Map.of("../../adapter_config.json", config)));
        // 600 MB of zeros, about 600 KB compressed: refused while decompressing, never held whole
        java.io.ByteArrayOutputStream bomb = new java.io.ByteArrayOutputStream();
        try (var z = new java.util.zip.ZipOutputStream(bomb)) {
            z.putNextEntry(new java.util.zip.ZipEntry("adapter_model.safetensors"));
            byte[] zeros = new byte[1 << 20];
            for (int i = 0; i < 600; i++) z.write(zeros);
            z.closeEntry();
        }
        out.put("zip-bomb", bomb.toByteArray());
        byte[] lying = new byte[64];
        java.nio.ByteBuffer.wrap(lying).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(1L << 40);
        out.put("lying-safetensors-header", zip(Map.of("adapter_config.json", config, "adapter_model.safetensors", lying)));
        out.put("pickle", zip(Map.of("adapter_config.json", config, "adapter_model.bin", new byte[]{(byte) 0x80, 2, 0x7d, 0x71})));
        out.put("not-a-zip", ascii("just text"));
        out.put("empty-file", new byte[0]);
        return out;
    }

    private void check(List<String> failures, String method, String path, String contentType, String what, byte[] body) {
        String label = method + " " + path.substring(0, Math.min(path.length(), 80)) + " [" + what + "]";
        try {
            HttpResponse<String> r = send(method, path, contentType, body);
            int s = r.statusCode();
            String type = r.headers().firstValue("content-type").orElse("");
            String detail = "";
            if (type.contains("json")) {
                try {
                    detail = Json.mapper().readTree(r.body()).path("detail").asText("");
                } catch (Exception e) {
                    detail = "";
                }
            }
            if (s < 400 || s >= 500 || !type.contains("application/problem+json") || detail.isBlank()) {
                failures.add(label + " -> " + s + " " + type + " " + abbreviate(r.body()));
            }
        } catch (Exception e) {
            failures.add(label + " -> " + e);
        }
    }

    private Map<String, Integer> counts() throws Exception {
        Map<String, Integer> counts = new TreeMap<>();
        counts.put("datasets", getJson("/api/datasets?size=1000").path("items").size());
        counts.put("adapters", getJson("/api/adapters").path("items").size());
        counts.put("streams", getJson("/api/streams").size());
        int replayed = 0;
        for (JsonNode item : getJson("/api/dead-letters?limit=1000").path("items")) {
            if (!item.path("replayedAt").isMissingNode() && !item.path("replayedAt").isNull()) replayed++;
        }
        counts.put("replays", replayed);
        counts.put("upstream-dlq", (int) endOffset(DLQ));
        return counts;
    }

    // ---------------------------------------------------------------- fixtures

    private static final String[][][] TOPICS = {
            {{"weather", "Heavy rain is expected all afternoon.", "The forecast says sunny skies tomorrow.",
                    "A cold front will bring snow overnight.", "Strong winds knocked down branches.",
                    "Thunderstorms may develop this evening.", "Morning fog will lift by noon."},
                    {"sports", "The striker scored twice in the second half.", "She won the marathon in record time.",
                            "The team clinched the championship on penalties.", "He hit a home run in the ninth inning.",
                            "The tennis final went to five sets.", "Our goalkeeper saved a late penalty."}},
            {{"music", "The band released a new album last week.", "She plays the violin in the orchestra.",
                    "The concert sold out in minutes.", "His guitar solo brought the crowd to its feet.",
                    "The pianist performed a sonata by Chopin.", "The drummer kept a steady rhythm."},
                    {"cooking", "Simmer the sauce for twenty minutes.", "Knead the dough until it is smooth.",
                            "Chop the onions and fry them in butter.", "Bake the cake at 180 degrees.",
                            "Whisk the eggs with a little milk.", "Roast the vegetables until golden."}},
            {{"animals", "The fox crept quietly through the tall grass.", "An owl hooted from the old oak tree.",
                    "The dolphins leapt beside the boat.", "A herd of elephants crossed the river.",
                    "The kitten chased a ball of yarn.", "Bees buzzed around the flowering hedge."},
                    {"vehicles", "The bus was late again this morning.", "He changed the flat tyre on his truck.",
                            "The new train reaches the coast in an hour.", "She parked the motorbike by the gate.",
                            "The plane taxied slowly to the runway.", "A tractor blocked the narrow lane."}},
            {{"science", "The telescope captured a distant galaxy.", "Chemists measured the reaction rate.",
                    "The cell divides every twenty minutes.", "Physicists observed the particle decay.",
                    "The fossil was dated to the late Jurassic.", "Researchers sequenced the virus genome."},
                    {"finance", "The central bank raised interest rates.", "Shares fell sharply after the report.",
                            "The company issued new bonds this quarter.", "Inflation eased for the third month.",
                            "Investors moved their savings into gold.", "The budget deficit widened last year."}}};

    /** A tiny valid dataset: 2 classes × 4 train × 2 test, real sentences. */
    private static ObjectNode validDataset(String eventId, String taskKey, int topic) {
        ObjectNode n = Json.mapper().createObjectNode();
        n.put("eventId", eventId);
        n.put("schemaVersion", 1);
        n.put("occurredAt", "2026-01-01T00:00:00Z");
        n.put("streamId", STREAM);
        n.put("taskKey", taskKey);
        n.put("name", "Task " + taskKey);
        n.put("description", TOPICS[topic][0][0] + " or " + TOPICS[topic][1][0]);
        ArrayNode labels = n.putArray("labels");
        ArrayNode train = n.putArray("train");
        ArrayNode test = n.putArray("test");
        for (String[] cls : TOPICS[topic]) {
            labels.add(cls[0]);
            for (int i = 1; i < cls.length; i++) {
                ObjectNode r = (i <= 4 ? train : test).addObject();
                r.put("text", cls[i]);
                r.put("label", cls[0]);
            }
        }
        return n;
    }

    private JsonNode randomJson(int depth) {
        int k = random.nextInt(depth <= 0 ? 4 : 6);
        return switch (k) {
            case 0 -> Json.mapper().getNodeFactory().textNode(randomText(random.nextInt(20)));
            case 1 -> Json.mapper().getNodeFactory().numberNode(random.nextGaussian() * 1e6);
            case 2 -> Json.mapper().getNodeFactory().booleanNode(random.nextBoolean());
            case 3 -> Json.mapper().getNodeFactory().nullNode();
            case 4 -> {
                ArrayNode a = Json.mapper().createArrayNode();
                for (int i = random.nextInt(4); i > 0; i--) a.add(randomJson(depth - 1));
                yield a;
            }
            default -> {
                ObjectNode o = Json.mapper().createObjectNode();
                o.put("type", "Junk" + random.nextInt(1000)); // never a known type: always a dead letter
                for (int i = random.nextInt(4); i > 0; i--) o.set(randomText(1 + random.nextInt(8)), randomJson(depth - 1));
                yield o;
            }
        };
    }

    private String randomText(int length) {
        char[] c = new char[length];
        for (int i = 0; i < length; i++) c[i] = (char) ('a' + random.nextInt(26));
        return new String(c);
    }

    private static byte[] oversizedBody(int size) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(size + 64);
        out.writeBytes(ascii("{\"texts\":[\""));
        byte[] chunk = ascii("y".repeat(MB));
        for (int written = 0; written < size; written += chunk.length) out.writeBytes(chunk);
        out.writeBytes(ascii("\"]}"));
        return out.toByteArray();
    }

    private Set<String> keysWith(Fate fate) {
        Set<String> keys = new TreeSet<>();
        sent.forEach((k, f) -> {
            if (f.fate() == fate) keys.add(k);
        });
        return keys;
    }

    private void awaitDatasets(String streamId, int count, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        int last = -1;
        while (System.nanoTime() < deadline) {
            last = getJson("/api/datasets?streamId=" + streamId).path("items").size();
            if (last >= count) return;
            Thread.sleep(200);
        }
        throw new AssertionError(streamId + " has " + last + " datasets, not " + count + ", after " + timeout);
    }

    private void awaitTasksDone(String streamId, int tasks, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        String last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = send("GET", "/api/streams/" + streamId, null, null);
            if (r.statusCode() == 200) {
                last = r.body();
                long done = 0;
                for (JsonNode t : Json.mapper().readTree(r.body()).path("tasks")) {
                    if (Set.of("PROMOTED", "REJECTED", "FAILED").contains(t.path("status").asText())) done++;
                }
                if (done >= tasks) return;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("stream " + streamId + " not done in " + timeout + ": " + abbreviate(last));
    }

    private KafkaProducer<String, byte[]> producer() {
        return new KafkaProducer<>(Map.<String, Object>of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBrokers(),
                ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 8 * MB, ProducerConfig.LINGER_MS_CONFIG, 5),
                new StringSerializer(), new ByteArraySerializer());
    }

    private KafkaConsumer<String, byte[]> consumer(String topic) {
        var consumer = new KafkaConsumer<>(Map.<String, Object>of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBrokers(),
                ConsumerConfig.GROUP_ID_CONFIG, "hostile-" + System.nanoTime(),
                ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest"), new StringDeserializer(), new ByteArrayDeserializer());
        consumer.subscribe(List.of(topic));
        return consumer;
    }

    private long endOffset(String topic) {
        try (var consumer = new KafkaConsumer<>(Map.<String, Object>of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBrokers()),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            return consumer.endOffsets(List.of(tp)).get(tp);
        }
    }

    private ConsumerRecord<String, byte[]> awaitKeyAfter(String topic, String key, long fromOffset, Duration timeout) {
        try (var consumer = new KafkaConsumer<>(Map.<String, Object>of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.kafkaBrokers()),
                new StringDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition tp = new TopicPartition(topic, 0);
            consumer.assign(List.of(tp));
            consumer.seek(tp, fromOffset);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (System.nanoTime() < deadline) {
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (key.equals(r.key())) return r;
                }
            }
        }
        throw new AssertionError("no record with key " + key + " on " + topic + " after offset " + fromOffset + " within " + timeout);
    }

    private static String header(ConsumerRecord<?, ?> r, String name) {
        Header h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
    }

    private static byte[] bytes(JsonNode node) {
        return node.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) out.writeBytes(p);
        return out.toByteArray();
    }

    private static String abbreviate(String s) {
        return s == null || s.length() <= 300 ? s : s.substring(0, 300) + "…";
    }

    private HttpResponse<String> send(String method, String path, String contentType, byte[] body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(stack.gatewayUrl() + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + stack.adminKey());
        if (contentType != null) b.header("Content-Type", contentType);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> post(String path, Object body) throws Exception {
        return send("POST", path, "application/json", Json.mapper().writeValueAsBytes(body));
    }

    private JsonNode getJson(String path) throws Exception {
        HttpResponse<String> r = send("GET", path, null, null);
        assertThat(r.statusCode()).as("GET %s: %s", path, abbreviate(r.body())).isEqualTo(200);
        return Json.mapper().readTree(r.body());
    }

    private static void assertProblem(HttpResponse<String> r, int status, String detailContains) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("content-type").orElse("")).contains("application/problem+json");
        assertThat(Json.mapper().readTree(r.body()).path("detail").asText()).contains(detailContains);
    }
}

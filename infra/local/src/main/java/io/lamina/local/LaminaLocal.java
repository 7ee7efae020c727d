package io.lamina.local;

import com.fasterxml.jackson.databind.JsonNode;
import io.lamina.contracts.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * README command 1: starts the embedded platform and runs the demo stream through the upstream
 * Kafka topic, printing progress until every task is done, then keeps serving until Ctrl-C.
 *
 * <p>Settings (system properties or environment): {@code LAMINA_HOME} (data directory, default
 * {@code .lamina}), {@code LAMINA_DEMO=false} to skip the demo, {@code LAMINA_EXIT_AFTER_DEMO=true}
 * to stop once the demo stream is done (used to measure it).
 */
public final class LaminaLocal {

    public static void main(String[] args) throws Exception {
        long t0 = System.nanoTime();
        io.lamina.support.ServiceLauncher.offlineEngine();
        Path home = Path.of(setting("LAMINA_HOME", ".lamina"));
        EmbeddedStack stack = EmbeddedStack.start(home, StackPorts.defaults(), args);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("Stopping Lamina...");
            stack.close();
            stopped.countDown();
        }, "lamina-shutdown"));
        double coldStart = (System.nanoTime() - t0) / 1e9;
        System.out.printf(Locale.ROOT, "%nLamina is up in %.1f s.  Dashboard: %s/   API docs: %s/swagger-ui.html%n",
                coldStart, stack.gatewayUrl(), stack.gatewayUrl());
        if (stack.adminKeyGenerated()) {
            System.out.printf("Admin API key (shown once; kept in %s): %s%n%n", home.resolve("admin-key").toAbsolutePath(), stack.adminKey());
        } else {
            System.out.printf("Admin API key: LAMINA_ADMIN_KEY, or the one kept in %s%n%n", home.resolve("admin-key").toAbsolutePath());
        }
        if (Boolean.parseBoolean(setting("LAMINA_DEMO", "true"))) {
            DemoStream demo = DemoStream.wordnetSupersenses();
            demo.publish(stack.kafkaBrokers());
            System.out.printf("Demo: published %d WordNet supersense tasks to lamina.upstream.datasets (stream '%s')%n",
                    demo.tasks(), demo.streamId());
            follow(stack.gatewayUrl(), stack.adminKey(), demo.streamId(), demo.tasks());
            if (Boolean.parseBoolean(setting("LAMINA_EXIT_AFTER_DEMO", "false"))) {
                System.exit(0);
            }
        }
        System.out.println("Serving. Press Ctrl-C to stop.");
        stopped.await();
    }

    /** Prints each task's status changes and, at the end, the accuracy matrix. */
    private static void follow(String gateway, String apiKey, String streamId, int tasks) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        Map<String, String> lastStatus = new HashMap<>();
        Map<String, Long> startedAt = new HashMap<>();
        while (true) {
            Thread.sleep(1000);
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(gateway + "/api/streams/" + streamId)).header("Authorization", "Bearer " + apiKey)
                    .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) continue;
            JsonNode stream = Json.mapper().readTree(response.body());
            int done = 0;
            for (JsonNode task : stream.path("tasks")) {
                String key = task.path("taskKey").asText();
                String status = task.path("status").asText();
                if (!status.equals(lastStatus.get(key))) {
                    boolean finished = status.equals("PROMOTED") || status.equals("REJECTED") || status.equals("FAILED");
                    if (!status.equals("QUEUED") && !finished) startedAt.putIfAbsent(key, System.nanoTime());
                    String extra = "";
                    if ((status.equals("PROMOTED") || status.equals("REJECTED")) && startedAt.containsKey(key)) {
                        extra = String.format(Locale.ROOT, "  (%.0f s, accuracy row %s)",
                                (System.nanoTime() - startedAt.get(key)) / 1e9, task.path("accuracyRow"));
                    }
                    System.out.printf("  %-8s %-12s%s%n", key, status, extra);
                    lastStatus.put(key, status);
                }
                if (status.equals("PROMOTED") || status.equals("REJECTED") || status.equals("FAILED")) done++;
            }
            if (done >= tasks) {
                System.out.println("Demo stream done. Accuracy matrix (row i = after task i):");
                for (JsonNode row : stream.path("accuracyMatrix")) System.out.println("  " + row);
                System.out.println("Metrics: " + stream.path("metrics"));
                return;
            }
        }
    }

    private static String setting(String name, String fallback) {
        String value = System.getProperty(name);
        if (value == null) value = System.getenv(name);
        return value == null ? fallback : value;
    }

    private LaminaLocal() {
    }
}

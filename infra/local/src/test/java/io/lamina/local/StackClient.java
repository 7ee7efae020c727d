package io.lamina.local;

import com.fasterxml.jackson.databind.JsonNode;
import io.lamina.contracts.Json;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/** What tests do through the gateway, as any HTTP client would. */
final class StackClient {
    private final HttpClient http = HttpClient.newHttpClient();
    private final String gateway;
    private final String key;

    StackClient(String gateway, String key) {
        this.gateway = gateway;
        this.key = key;
    }

    JsonNode get(String path) throws Exception {
        HttpResponse<String> r = http.send(request(path).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as("GET %s: %s", path, r.body()).isEqualTo(200);
        return Json.mapper().readTree(r.body());
    }

    HttpResponse<String> post(String path, Object body) throws Exception {
        return http.send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.mapper().writeValueAsBytes(body))).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Polls a stream until {@code done} holds for its JSON, or fails with the last state seen. */
    JsonNode awaitStream(String streamId, Duration timeout, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = http.send(request("/api/streams/" + streamId).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                last = Json.mapper().readTree(r.body());
                if (done.test(last)) return last;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("stream " + streamId + " not in the expected state within " + timeout + "; last: " + last);
    }

    /** True once {@code tasks} tasks of the stream are PROMOTED, REJECTED or FAILED. */
    static Predicate<JsonNode> finished(int tasks) {
        return stream -> {
            int done = 0;
            for (JsonNode t : stream.path("tasks")) {
                String s = t.path("status").asText();
                if (s.equals("PROMOTED") || s.equals("REJECTED") || s.equals("FAILED")) done++;
            }
            return done >= tasks;
        };
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(gateway + path)).timeout(Duration.ofSeconds(60)).header("Authorization", "Bearer " + key);
    }
}

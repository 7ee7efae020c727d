package io.lamina.workflows.api;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.lamina.contracts.Json;
import io.lamina.support.ConflictException;
import io.lamina.workflows.bridge.KafkaTemporalBridge;
import io.lamina.workflows.state.StreamStore;
import io.lamina.workflows.stream.StreamPolicy;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.*;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;

@RestController
@RequestMapping("/api/streams")
class StreamController {
    private static final String STREAM_ID = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";

    private final StreamStore streams;
    private final KafkaTemporalBridge bridge;

    StreamController(StreamStore streams, KafkaTemporalBridge bridge) {
        this.streams = streams;
        this.bridge = bridge;
    }

    record StreamSummary(String streamId, String strategy, boolean paused, int tasks, int done, String currentStatus,
                         StreamStore.Metrics metrics) {
    }

    /**
     * @param policy any subset of the policy's fields, applied over the configured default policy
     *               (JSON merge patch), e.g. {@code {"strategy": "joint"}}
     */
    record CreateStream(String streamId, JsonNode policy) {
    }

    @Operation(summary = "Streams with their strategy, progress and latest metrics, oldest first; optionally only one "
            + "strategy's, or only those whose current status (e.g. IDLE, TRAINING) or id prefix match; page by page")
    @GetMapping
    List<StreamSummary> list(@RequestParam(required = false) String strategy, @RequestParam(required = false) String status,
                             @RequestParam(required = false) String prefix,
                             @RequestParam(defaultValue = "0") int page, @RequestParam(defaultValue = "1000") int size) {
        if (page < 0 || size < 1 || size > 1000) throw new IllegalArgumentException("page must be >= 0 and size in [1, 1000]");
        String wanted = strategy == null ? null : io.lamina.workflows.stream.Strategy.of(strategy).id();
        return streams.streamIds().stream()
                .filter(id -> prefix == null || id.startsWith(prefix))
                .map(id -> streams.find(id).orElseThrow()).map(s -> new StreamSummary(
                        s.streamId(), s.policy().strategy(), s.paused(), s.tasks().size(),
                        (int) s.tasks().stream().filter(t -> StreamStore.FINAL.contains(t.status())).count(),
                        s.tasks().stream().filter(t -> !StreamStore.FINAL.contains(t.status())).map(StreamStore.TaskView::status)
                                .findFirst().orElse("IDLE"), s.metrics()))
                .filter(s -> wanted == null || s.strategy().equals(wanted))
                .filter(s -> status == null || s.currentStatus().equalsIgnoreCase(status))
                .skip((long) page * size).limit(size).toList();
    }

    @Operation(summary = "Create a stream with its policy (fields not given come from the default policy); "
            + "a dataset for an unknown stream creates it with the default policy")
    @PostMapping
    @ResponseStatus(HttpStatus.CREATED)
    StreamStore.StreamView create(@RequestBody CreateStream body) {
        if (body.streamId() == null) throw new IllegalArgumentException("streamId is required");
        requireStreamId(body.streamId());
        StreamPolicy policy = patched(streams.defaultPolicy(), body.policy());
        if (!streams.create(body.streamId(), policy)) throw new ConflictException("stream " + body.streamId() + " already exists");
        return streams.find(body.streamId()).orElseThrow();
    }

    @Operation(summary = "A stream: its policy, tasks with status and adapter, the accuracy matrix (row i = after task i) and metrics")
    @GetMapping("/{streamId}")
    StreamStore.StreamView get(@PathVariable String streamId) {
        return streams.find(streamId).orElseThrow(() -> new NoSuchElementException("no stream " + streamId));
    }

    @Operation(summary = "A stream's policy (the default policy until one is set)")
    @GetMapping("/{streamId}/policy")
    StreamPolicy policy(@PathVariable String streamId) {
        get(streamId);
        return streams.policy(streamId);
    }

    @Operation(summary = "Replace a stream's policy; it applies from the next task on")
    @PutMapping("/{streamId}/policy")
    StreamPolicy setPolicy(@PathVariable String streamId, @RequestBody StreamPolicy policy) {
        requireStreamId(streamId);
        // A policy is complete: a missing adapter or training section would only fail at the next task.
        if (policy.adapter() == null) throw new IllegalArgumentException("policy.adapter is required");
        if (policy.training() == null) throw new IllegalArgumentException("policy.training is required");
        streams.setPolicy(streamId, policy);
        return streams.policy(streamId);
    }

    @Operation(summary = "Change some of a stream's policy fields (JSON merge patch, RFC 7396); it applies from the next task on")
    @PatchMapping(path = "/{streamId}/policy", consumes = {"application/merge-patch+json", "application/json"})
    StreamPolicy patchPolicy(@PathVariable String streamId, @RequestBody JsonNode patch) {
        get(streamId);
        if (patch == null || !patch.isObject()) throw new IllegalArgumentException("a policy patch must be a JSON object");
        streams.setPolicy(streamId, patched(streams.policy(streamId), patch));
        return streams.policy(streamId);
    }

    @Operation(summary = "Pause a stream: the running task finishes, no new task starts; arrivals stay queued")
    @PostMapping("/{streamId}/pause")
    Map<String, Object> pause(@PathVariable String streamId) {
        get(streamId);
        bridge.setPaused(streamId, true);
        return Map.of("streamId", streamId, "paused", true);
    }

    @Operation(summary = "Resume a paused stream: queued tasks start again")
    @PostMapping("/{streamId}/resume")
    Map<String, Object> resume(@PathVariable String streamId) {
        get(streamId);
        bridge.setPaused(streamId, false);
        return Map.of("streamId", streamId, "paused", false);
    }

    private static void requireStreamId(String streamId) {
        if (!streamId.matches(STREAM_ID)) throw new IllegalArgumentException("streamId '" + streamId + "' must match " + STREAM_ID);
    }

    /** {@code patch} applied to {@code policy} as a JSON merge patch, validated by the policy's constructor. */
    static StreamPolicy patched(StreamPolicy policy, JsonNode patch) {
        ObjectNode target = Json.mapper().valueToTree(policy);
        if (patch != null && !patch.isNull()) {
            if (!patch.isObject()) throw new IllegalArgumentException("policy must be a JSON object");
            merge(target, (ObjectNode) patch);
        }
        try {
            return Json.mapper().treeToValue(target, StreamPolicy.class);
        } catch (JacksonException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof IllegalArgumentException iae) throw new IllegalArgumentException("policy: " + iae.getMessage());
            }
            throw new IllegalArgumentException("policy: " + e.getOriginalMessage());
        }
    }

    private static void merge(ObjectNode target, ObjectNode patch) {
        for (Iterator<Map.Entry<String, JsonNode>> it = patch.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode value = e.getValue();
            if (value.isNull()) {
                target.remove(e.getKey());
            } else if (value.isObject() && target.get(e.getKey()) instanceof ObjectNode inner) {
                merge(inner, (ObjectNode) value);
            } else {
                target.set(e.getKey(), value.deepCopy());
            }
        }
    }
}

package io.lamina.workflows.api;

import io.lamina.workflows.state.StreamStore;
import io.lamina.workflows.stream.StreamPolicy;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.web.bind.annotation.*;

import java.util.List;
import java.util.NoSuchElementException;

@RestController
@RequestMapping("/api/streams")
class StreamController {
    private final StreamStore streams;

    StreamController(StreamStore streams) {
        this.streams = streams;
    }

    record StreamSummary(String streamId, int tasks, int done, String currentStatus, StreamStore.Metrics metrics) {
    }

    @Operation(summary = "Every stream with its progress and latest metrics")
    @GetMapping
    List<StreamSummary> list() {
        return streams.streamIds().stream().map(id -> streams.find(id).orElseThrow()).map(s -> new StreamSummary(
                s.streamId(), s.tasks().size(),
                (int) s.tasks().stream().filter(t -> StreamStore.FINAL.contains(t.status())).count(),
                s.tasks().stream().filter(t -> !StreamStore.FINAL.contains(t.status())).map(StreamStore.TaskView::status)
                        .findFirst().orElse("IDLE"), s.metrics())).toList();
    }

    @Operation(summary = "A stream: its tasks with status and adapter, the accuracy matrix (row i = after task i) and metrics")
    @GetMapping("/{streamId}")
    StreamStore.StreamView get(@PathVariable String streamId) {
        return streams.find(streamId).orElseThrow(() -> new NoSuchElementException("no stream " + streamId));
    }

    @Operation(summary = "Set a stream's policy; it applies from the next task on")
    @PutMapping("/{streamId}/policy")
    StreamPolicy setPolicy(@PathVariable String streamId, @RequestBody StreamPolicy policy) {
        if (!streamId.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")) {
            throw new IllegalArgumentException("streamId '" + streamId + "' must match [A-Za-z0-9][A-Za-z0-9._-]{0,63}");
        }
        // A policy is complete: a missing adapter or training section would only fail at the next task.
        if (policy.adapter() == null) throw new IllegalArgumentException("policy.adapter is required");
        if (policy.training() == null) throw new IllegalArgumentException("policy.training is required");
        streams.setPolicy(streamId, policy);
        return streams.policy(streamId);
    }
}

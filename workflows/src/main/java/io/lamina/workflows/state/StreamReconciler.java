package io.lamina.workflows.state;

import io.lamina.workflows.bridge.KafkaTemporalBridge;
import io.lamina.workflows.stream.CompletedTask;
import io.lamina.workflows.stream.TaskArrival;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

import java.util.List;

/**
 * The embedded Temporal server keeps its state in memory, so after a restart this re-drives
 * every stream with unfinished tasks from Lamina's own tables: the stream workflow is started
 * with the tasks already done and signalled with each unfinished one. Against a persistent
 * Temporal the workflows are still running and the signals are ignored as duplicates.
 */
@Component
class StreamReconciler {
    private static final Logger log = LoggerFactory.getLogger(StreamReconciler.class);

    private final StreamStore streams;
    private final KafkaTemporalBridge bridge;

    StreamReconciler(StreamStore streams, KafkaTemporalBridge bridge) {
        this.streams = streams;
        this.bridge = bridge;
    }

    @EventListener(ApplicationReadyEvent.class)
    void reconcile() {
        for (String streamId : streams.streamIds()) {
            List<TaskArrival> unfinished = streams.tasks(streamId).stream()
                    .filter(t -> !StreamStore.FINAL.contains(t.status())).map(StreamStore::arrival).toList();
            List<CompletedTask> done = streams.completed(streamId);
            if (unfinished.isEmpty()) continue;
            log.info("re-driving stream {}: {} task(s) unfinished", streamId, unfinished.size());
            for (TaskArrival arrival : unfinished) bridge.startOrSignal(streamId, done, arrival);
        }
    }
}

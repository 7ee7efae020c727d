package io.lamina.gateway.live;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.http.MediaType;
import org.springframework.stereotype.Component;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The dashboard's live view of training: every client of {@code GET /api/streams/{id}/events} has an
 * {@link SseEmitter} here, and each progress event of that stream (from Kafka) is sent to all of them as
 * an {@code event: progress}. A client is dropped when it disconnects (the next write fails; a comment is
 * written every {@code lamina.gateway.events-keep-alive} so that this is noticed on a quiet stream), when
 * its connection reaches {@code lamina.gateway.events-timeout} (the browser's EventSource reconnects by
 * itself), or on an error. At most {@code lamina.gateway.max-event-clients} connections are open at once.
 * A new client first gets the latest step of each of the stream's tasks seen in the last minutes, so a
 * page opened mid-training shows the loss at once.
 */
@Component
public class TrainingProgressHub {
    private static final Logger log = LoggerFactory.getLogger(TrainingProgressHub.class);

    private final Map<String, Set<SseEmitter>> clients = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    /** The latest progress per stream and task (key: streamId + NUL + taskKey). */
    private final Cache<String, ProgressEvent> latest = Caffeine.newBuilder().expireAfterWrite(Duration.ofMinutes(10))
            .maximumSize(10_000).build();
    private final ScheduledExecutorService keepAlive = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "sse-keep-alive");
        t.setDaemon(true);
        return t;
    });
    private final long timeoutMillis;
    private final int maxClients;

    TrainingProgressHub(@Value("${lamina.gateway.events-timeout:PT15M}") Duration timeout,
                        @Value("${lamina.gateway.events-keep-alive:PT20S}") Duration keepAliveEvery,
                        @Value("${lamina.gateway.max-event-clients:500}") int maxClients,
                        io.micrometer.core.instrument.MeterRegistry meters) {
        this.timeoutMillis = timeout.toMillis();
        this.maxClients = maxClients;
        io.micrometer.core.instrument.Gauge.builder("lamina.gateway.event.streams", open, AtomicInteger::get)
                .description("server-sent event streams open now (GET /api/streams/{id}/events)").register(meters);
        long every = keepAliveEvery.toMillis();
        keepAlive.scheduleWithFixedDelay(this::ping, every, every, TimeUnit.MILLISECONDS);
    }

    /** Thrown when {@code lamina.gateway.max-event-clients} connections are open. */
    static final class TooManyClients extends RuntimeException {
        TooManyClients(int max) {
            super("at most " + max + " event streams may be open at once; try again later");
        }
    }

    /** A new client of one stream's events. */
    public SseEmitter subscribe(String streamId) {
        if (open.incrementAndGet() > maxClients) {
            open.decrementAndGet();
            throw new TooManyClients(maxClients);
        }
        SseEmitter emitter = new SseEmitter(timeoutMillis);
        clients.compute(streamId, (k, set) -> {
            Set<SseEmitter> s = set == null ? ConcurrentHashMap.newKeySet() : set;
            s.add(emitter);
            return s;
        });
        Runnable remove = () -> remove(streamId, emitter);
        emitter.onCompletion(remove);
        emitter.onTimeout(() -> {
            remove.run();
            emitter.complete();
        });
        emitter.onError(e -> remove.run());
        try {
            // "retry" tells EventSource how long to wait before it reconnects after the timeout
            emitter.send(SseEmitter.event().comment("progress of stream " + streamId).reconnectTime(3000));
            latest.asMap().values().stream().filter(p -> p.streamId().equals(streamId))
                    .sorted(java.util.Comparator.comparing(ProgressEvent::occurredAt))
                    .forEach(p -> send(streamId, emitter, p));
        } catch (IOException | IllegalStateException e) {
            remove(streamId, emitter);
        }
        return emitter;
    }

    /** A progress event from Kafka, to every client of its stream. */
    public void publish(ProgressEvent event) {
        latest.put(event.streamId() + '\0' + event.taskKey(), event);
        Set<SseEmitter> set = clients.get(event.streamId());
        if (set == null) return;
        for (SseEmitter emitter : set) send(event.streamId(), emitter, event);
    }

    /** How many clients are connected now (all streams). */
    public int clients() {
        return open.get();
    }

    private void send(String streamId, SseEmitter emitter, ProgressEvent event) {
        try {
            emitter.send(SseEmitter.event().name("progress").id(event.eventId()).data(event, MediaType.APPLICATION_JSON));
        } catch (IOException | IllegalStateException e) {
            // the client went away (the container then completes the request) or the emitter is already complete
            remove(streamId, emitter);
        }
    }

    private void ping() {
        clients.forEach((streamId, set) -> {
            for (SseEmitter emitter : set) {
                try {
                    emitter.send(SseEmitter.event().comment("keep-alive"));
                } catch (IOException | IllegalStateException e) {
                    remove(streamId, emitter);
                }
            }
        });
    }

    private void remove(String streamId, SseEmitter emitter) {
        clients.computeIfPresent(streamId, (k, set) -> {
            if (set.remove(emitter)) open.decrementAndGet();
            return set.isEmpty() ? null : set;
        });
    }

    @PreDestroy
    void close() {
        keepAlive.shutdownNow();
        clients.values().forEach(set -> set.forEach(SseEmitter::complete));
        clients.clear();
        log.debug("event streams closed");
    }
}

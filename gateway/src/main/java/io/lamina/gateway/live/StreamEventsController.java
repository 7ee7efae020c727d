package io.lamina.gateway.live;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * {@code GET /api/streams/{streamId}/events}: the stream's training progress as server-sent events,
 * served by the gateway itself (from Kafka) rather than forwarded to the workflows service like the
 * rest of {@code /api/streams/**}. Annotated controllers are mapped before the gateway's routes.
 */
@RestController
class StreamEventsController {
    private static final String STREAM_ID = "[A-Za-z0-9][A-Za-z0-9._-]{0,63}";

    private final TrainingProgressHub hub;

    StreamEventsController(TrainingProgressHub hub) {
        this.hub = hub;
    }

    @Operation(summary = "Live training progress of a stream as server-sent events (text/event-stream): an event "
            + "'progress' per optimiser step with {eventId, occurredAt, streamId, taskKey, jobId, step, totalSteps, epoch, "
            + "loss, examplesPerSecond}; on connect, the latest step of each task trained in the last minutes. The "
            + "connection closes after lamina.gateway.events-timeout (15 min); EventSource reconnects by itself",
            responses = @ApiResponse(responseCode = "200", content = @Content(mediaType = MediaType.TEXT_EVENT_STREAM_VALUE,
                    schema = @Schema(implementation = ProgressEvent.class))))
    @GetMapping(path = "/api/streams/{streamId}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    SseEmitter events(@PathVariable String streamId) {
        if (!streamId.matches(STREAM_ID)) throw new IllegalArgumentException("streamId '" + streamId + "' must match " + STREAM_ID);
        return hub.subscribe(streamId);
    }

    @ExceptionHandler(IllegalArgumentException.class)
    ProblemDetail badRequest(IllegalArgumentException e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.BAD_REQUEST, e.getMessage());
    }

    @ExceptionHandler(TrainingProgressHub.TooManyClients.class)
    ProblemDetail tooMany(TrainingProgressHub.TooManyClients e) {
        return ProblemDetail.forStatusAndDetail(HttpStatus.SERVICE_UNAVAILABLE, e.getMessage());
    }
}

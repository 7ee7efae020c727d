package io.lamina.workflows.deadletters;

import io.swagger.v3.oas.annotations.Operation;
import org.springframework.web.bind.annotation.*;

import java.util.List;

@RestController
@RequestMapping("/api/dead-letters")
class DeadLetterController {
    private final DeadLetters deadLetters;

    DeadLetterController(DeadLetters deadLetters) {
        this.deadLetters = deadLetters;
    }

    record DeadLetterPage(List<DeadLetter> items, int limit) {
    }

    record ReplayRequest(String topic, Integer partition, Long offset) {
    }

    @Operation(summary = "Dead letters of one *.dlq topic or of all, newest first, with the reason and the payload (capped)")
    @GetMapping
    DeadLetterPage list(@RequestParam(required = false) String topic, @RequestParam(defaultValue = "100") int limit) {
        return new DeadLetterPage(deadLetters.list(topic, limit), limit);
    }

    @Operation(summary = "One dead letter")
    @GetMapping("/{topic}/{partition}/{offset}")
    DeadLetter get(@PathVariable String topic, @PathVariable int partition, @PathVariable long offset) {
        return deadLetters.get(topic, partition, offset);
    }

    @Operation(summary = "Re-publish a dead letter's key and payload to its original topic; 409 if it was already replayed")
    @PostMapping("/replay")
    DeadLetter replay(@RequestBody ReplayRequest request) {
        if (request == null) throw new IllegalArgumentException("a body {topic, partition, offset} is required");
        return deadLetters.replay(request.topic(), request.partition(), request.offset());
    }
}

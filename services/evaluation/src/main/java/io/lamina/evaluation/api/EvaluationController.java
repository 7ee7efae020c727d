package io.lamina.evaluation.api;

import io.lamina.evaluation.domain.StreamEvaluator;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

@RestController
@RequestMapping("/api/evaluations")
class EvaluationController {
    private final StreamEvaluator evaluator;

    EvaluationController(StreamEvaluator evaluator) {
        this.evaluator = evaluator;
    }

    @Operation(summary = "A stream's accuracy matrix (row i = after task i) and metrics after each task")
    @GetMapping("/{streamId}")
    StreamEvaluator.Matrix matrix(@PathVariable String streamId) {
        return evaluator.matrix(streamId);
    }
}

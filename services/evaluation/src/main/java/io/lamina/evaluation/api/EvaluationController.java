package io.lamina.evaluation.api;

import io.lamina.evaluation.domain.AdapterScores;
import io.lamina.evaluation.domain.StreamEvaluator;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import java.util.List;
import java.util.NoSuchElementException;

@RestController
@RequestMapping("/api/evaluations")
class EvaluationController {
    private final StreamEvaluator evaluator;
    private final AdapterScores scores;

    EvaluationController(StreamEvaluator evaluator, AdapterScores scores) {
        this.evaluator = evaluator;
        this.scores = scores;
    }

    record ScoreRequest(List<String> adapterIds, List<String> datasetIds) {
    }

    @Operation(summary = "Accuracy of each adapter alone (its own head) on each dataset's test split")
    @PostMapping("/adapters")
    AdapterScores.Scores scores(@RequestBody ScoreRequest request) {
        try {
            return scores.score(request.adapterIds(), request.datasetIds());
        } catch (NoSuchElementException e) {
            // A missing adapter or dataset is a fault of this request's body, not a missing resource.
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    @Operation(summary = "A stream's accuracy matrix (row i = after task i) and metrics after each task")
    @GetMapping("/{streamId}")
    StreamEvaluator.Matrix matrix(@PathVariable String streamId) {
        return evaluator.matrix(streamId);
    }
}

package io.lamina.composition.api;

import io.lamina.composition.domain.Merger;
import io.lamina.composition.domain.Predictor;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.*;

import java.util.List;

@RestController
class CompositionController {
    private final Predictor predictor;
    private final Merger merger;

    CompositionController(Predictor predictor, Merger merger) {
        this.predictor = predictor;
        this.merger = merger;
    }

    record PredictRequest(List<String> texts) {
    }

    record PredictResponse(List<Predictor.Prediction> predictions) {
    }

    @Operation(summary = "Predict labels; each input is routed to one of the stream's adapters without a task id")
    @PostMapping("/api/streams/{streamId}/predict")
    PredictResponse predict(@PathVariable String streamId, @RequestBody PredictRequest request) {
        return new PredictResponse(predictor.predict(streamId, request.texts()));
    }

    @Operation(summary = "Merge adapters into a new registered adapter (task arithmetic over LoRA deltas)")
    @PostMapping("/api/composition/merges")
    ResponseEntity<Merger.MergeResult> merge(@RequestBody Merger.MergeRequest request) {
        return ResponseEntity.status(HttpStatus.CREATED).body(merger.merge(request));
    }
}

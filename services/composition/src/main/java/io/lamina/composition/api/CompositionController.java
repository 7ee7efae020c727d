package io.lamina.composition.api;

import io.lamina.composition.domain.Predictor;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.web.bind.annotation.*;

import java.util.List;

@RestController
class CompositionController {
    private final Predictor predictor;

    CompositionController(Predictor predictor) {
        this.predictor = predictor;
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

}

package io.lamina.composition.api;

import io.lamina.composition.domain.Predictor;
import io.lamina.contracts.MergeRequest.WeightedAdapter;
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

    record ComposedPredictRequest(List<String> texts, List<WeightedAdapter> adapters, String mode) {
    }

    record PredictResponse(List<Predictor.Prediction> predictions) {
    }

    @Operation(summary = "Predict labels; each input is routed to one of the stream's promoted adapters without a task id")
    @PostMapping("/api/streams/{streamId}/predict")
    PredictResponse predict(@PathVariable String streamId, @RequestBody PredictRequest request) {
        return new PredictResponse(predictor.predictForStream(streamId, request.texts()));
    }

    record EmbeddingsRequest(List<String> texts, String adapterId) {
    }

    @Operation(summary = "Sentence vectors (mean-pooled, L2-normalised) from the base model, or with an adapter applied")
    @PostMapping("/api/embeddings")
    Predictor.Embeddings embeddings(@RequestBody EmbeddingsRequest request) {
        return predictor.embed(request.texts(), request.adapterId());
    }

    @Operation(summary = "Predict with explicitly chosen adapters: mode single, weighted_sum, stack or routed")
    @PostMapping("/api/predict")
    PredictResponse compose(@RequestBody ComposedPredictRequest request) {
        return new PredictResponse(predictor.predict(request.texts(), request.adapters(), request.mode()));
    }
}

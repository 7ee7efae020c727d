package io.lamina.workflows.api;

import io.lamina.workflows.stream.Strategy;
import io.swagger.v3.oas.annotations.Operation;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

@RestController
class StrategyController {
    record StrategyInfo(String id, String serving, String summary) {
    }

    @Operation(summary = "The continual-learning strategies a stream policy can name")
    @GetMapping("/api/strategies")
    List<StrategyInfo> strategies() {
        return Arrays.stream(Strategy.values())
                .map(s -> new StrategyInfo(s.id(), s.serving().name().toLowerCase(Locale.ROOT).replace('_', '-'), s.summary()))
                .toList();
    }
}

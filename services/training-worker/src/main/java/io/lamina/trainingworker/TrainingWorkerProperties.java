package io.lamina.trainingworker;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.nio.file.Path;

/** @param checkpointRoot where running jobs keep their checkpoints (one folder per job id) */
@ConfigurationProperties(prefix = "lamina.training-worker")
public record TrainingWorkerProperties(Path checkpointRoot) {
}

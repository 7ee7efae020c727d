package io.lamina.hypernetwork.domain;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * @param trainAfter      new trained adapters since a method's last generator that trigger training the next one
 * @param episodes        GenerativeAdapter meta-training episodes
 * @param icmSteps        ICM-LoRA optimiser steps
 * @param contextPerClass examples per class a GenerativeAdapter reads when generating for a stored task
 * @param maxLength       tokens per example
 * @param kldWeight       weight of ICM-LoRA's KL term (the reference's 0.005)
 */
@ConfigurationProperties(prefix = "lamina.hypernetwork")
public record HypernetworkProperties(Integer trainAfter, Integer episodes, Integer icmSteps, Integer contextPerClass, Integer maxLength,
                                     Double kldWeight) {
    public HypernetworkProperties {
        if (trainAfter == null) trainAfter = 4;
        if (episodes == null) episodes = 300;
        if (icmSteps == null) icmSteps = 400;
        if (contextPerClass == null) contextPerClass = 16;
        if (maxLength == null) maxLength = 64;
        if (kldWeight == null) kldWeight = 0.005;
        if (!(kldWeight >= 0)) throw new IllegalArgumentException("lamina.hypernetwork.kld-weight must be >= 0");
        if (trainAfter < 2) throw new IllegalArgumentException("lamina.hypernetwork.train-after must be >= 2 (a generator learns from several tasks)");
    }
}

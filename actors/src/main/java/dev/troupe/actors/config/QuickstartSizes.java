package dev.troupe.actors.config;

/** Sizes of the built-in task's setup phase (tiny policy, SFT, reward model, evaluation and dataset pairs). */
public record QuickstartSizes(int hidden, int layers, int sftExamples, double sftErrorRate, int sftSteps,
    int rmPrompts, int rmEpochs, int evalPrompts, int datasetPairs) {}

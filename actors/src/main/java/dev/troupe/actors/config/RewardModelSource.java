package dev.troupe.actors.config;

/**
 * The reward model that scores rollouts: "quickstart" (trained in the setup phase) or the output folder of
 * {@code troupe train rm}; {@code normalize} shifts and scales its scores to mean 0, std 1.
 */
public record RewardModelSource(String path, boolean normalize) {}

package dev.troupe.actors.config;

/**
 * A loop's optimizer settings: AdamW's learning rate, the gradient-norm clip, and how many micro-batches make
 * one step (the DPO family only).
 */
public record Optim(double lr, double maxGradNorm, int gradientAccumulationSteps) {}

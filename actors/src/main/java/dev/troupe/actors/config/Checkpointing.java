package dev.troupe.actors.config;

/** Steps between a loop's checkpoints, and how many of its newest checkpoints are kept. */
public record Checkpointing(int every, int keep) {}

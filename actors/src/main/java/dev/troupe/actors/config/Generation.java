package dev.troupe.actors.config;

/** How a loop samples its policy: temperature 0 is greedy, top-k 0 and top-p 1 switch those filters off. */
public record Generation(int maxNewTokens, double temperature, int topK, double topP) {}

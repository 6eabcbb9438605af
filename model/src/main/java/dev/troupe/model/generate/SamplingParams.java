package dev.troupe.model.generate;

import java.util.List;

/**
 * How to sample: temperature 0 is greedy; top-k 0 and top-p 1 switch those filters off; the seed
 * makes a call reproducible whatever else runs on the machine.
 */
public record SamplingParams(
    int maxNewTokens,
    double temperature,
    int topK,
    double topP,
    long seed,
    List<Long> stopTokenIds,
    List<String> stopStrings) {

  public SamplingParams {
    if (maxNewTokens <= 0) {
      throw new IllegalArgumentException("max_new_tokens must be positive, got " + maxNewTokens);
    }
    if (temperature < 0) {
      throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
    }
    if (topK < 0) {
      throw new IllegalArgumentException("top_k must be >= 0 (0 = off), got " + topK);
    }
    if (!(topP > 0 && topP <= 1)) {
      throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
    }
    stopTokenIds = List.copyOf(stopTokenIds);
    stopStrings = List.copyOf(stopStrings);
  }

  public static SamplingParams greedy(int maxNewTokens) {
    return new SamplingParams(maxNewTokens, 0, 0, 1, 0, List.of(), List.of());
  }

  public static SamplingParams sample(int maxNewTokens, double temperature, long seed) {
    return new SamplingParams(maxNewTokens, temperature, 0, 1, seed, List.of(), List.of());
  }

  public boolean greedy() {
    return temperature == 0;
  }

  public SamplingParams withTopK(int k) {
    return new SamplingParams(maxNewTokens, temperature, k, topP, seed, stopTokenIds, stopStrings);
  }

  public SamplingParams withTopP(double p) {
    return new SamplingParams(maxNewTokens, temperature, topK, p, seed, stopTokenIds, stopStrings);
  }

  public SamplingParams withSeed(long s) {
    return new SamplingParams(maxNewTokens, temperature, topK, topP, s, stopTokenIds, stopStrings);
  }

  public SamplingParams withStopTokens(List<Long> ids) {
    return new SamplingParams(maxNewTokens, temperature, topK, topP, seed, ids, stopStrings);
  }

  public SamplingParams withStopStrings(List<String> stops) {
    return new SamplingParams(maxNewTokens, temperature, topK, topP, seed, stopTokenIds, stops);
  }
}

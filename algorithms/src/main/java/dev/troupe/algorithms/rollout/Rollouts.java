package dev.troupe.algorithms.rollout;

import dev.troupe.model.generate.Generation;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import java.util.ArrayList;
import java.util.List;

/** Sampled responses for a list of prompts, with their scores: the unit of on-policy data. */
public record Rollouts(List<long[]> prompts, List<long[]> responses, double[] scores) {

  /** Sampled responses not scored yet: generation and scoring apart, so a trainer can time each. */
  public record Sampled(List<long[]> prompts, List<long[]> responses) {
    public Rollouts scoredBy(RewardFunction reward) {
      return new Rollouts(prompts, responses, reward.score(prompts, responses));
    }
  }

  /**
   * Samples one response per prompt with the adapter (each prompt repeated {@code perPrompt}
   * times, consecutive, for group methods) and scores them.
   */
  public static Rollouts sample(Generator generator, Adapter adapter, List<long[]> prompts, int perPrompt,
      SamplingParams sampling, RewardFunction reward) {
    return generate(generator, adapter, prompts, perPrompt, sampling).scoredBy(reward);
  }

  /** {@link #sample} without the scoring. */
  public static Sampled generate(Generator generator, Adapter adapter, List<long[]> prompts, int perPrompt,
      SamplingParams sampling) {
    List<long[]> repeated = new ArrayList<>();
    for (long[] p : prompts) {
      for (int i = 0; i < perPrompt; i++) {
        repeated.add(p);
      }
    }
    List<long[]> responses = new ArrayList<>();
    for (Generation g : generator.generateIds(repeated, adapter, sampling)) {
      responses.add(g.tokenIds());
    }
    return new Sampled(repeated, responses);
  }

  /** The scores as an fp32 [B] array owned by {@code manager}. */
  public ai.djl.ndarray.NDArray scores(ai.djl.ndarray.NDManager manager) {
    float[] out = new float[scores.length];
    for (int i = 0; i < scores.length; i++) {
      out[i] = (float) scores[i];
    }
    return manager.create(out);
  }

  /** A prompt followed by its response, as one sequence of ids. */
  public static long[] join(long[] prompt, long[] response) {
    long[] out = java.util.Arrays.copyOf(prompt, prompt.length + response.length);
    System.arraycopy(response, 0, out, prompt.length, response.length);
    return out;
  }

  public double meanScore() {
    double s = 0;
    for (double v : scores) {
      s += v;
    }
    return s / scores.length;
  }

  /** Population standard deviation of the scores (TRL's old env/reward_std): how much the batch's rewards tell apart. */
  public double scoreStd() {
    double mean = meanScore();
    double s = 0;
    for (double v : scores) {
      s += (v - mean) * (v - mean);
    }
    return Math.sqrt(s / scores.length);
  }
}

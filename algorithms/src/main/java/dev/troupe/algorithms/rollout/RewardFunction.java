package dev.troupe.algorithms.rollout;

import java.util.List;

/** Scores responses to prompts (a reward model, a rule, an AI judge); higher is better. */
@FunctionalInterface
public interface RewardFunction {
  double[] score(List<long[]> prompts, List<long[]> responses);
}

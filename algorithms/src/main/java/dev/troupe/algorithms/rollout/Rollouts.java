package dev.troupe.algorithms.rollout;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.protocol.Rollout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Token-level views of the protocol's {@link Rollout}s: the unit of on-policy data a learner consumes. */
public final class Rollouts {
  private Rollouts() {}

  /** A prompt followed by its response, as one sequence of ids. */
  public static long[] join(long[] prompt, long[] response) {
    long[] out = Arrays.copyOf(prompt, prompt.length + response.length);
    System.arraycopy(response, 0, out, prompt.length, response.length);
    return out;
  }

  public static long[] promptIds(Rollout rollout) {
    return rollout.getPrompt().getTokenIdsList().stream().mapToLong(Long::longValue).toArray();
  }

  public static long[] responseIds(Rollout rollout) {
    return rollout.getResponseTokenIdsList().stream().mapToLong(Long::longValue).toArray();
  }

  public static List<long[]> promptIds(List<Rollout> rollouts) {
    return rollouts.stream().map(Rollouts::promptIds).toList();
  }

  public static List<long[]> responseIds(List<Rollout> rollouts) {
    return rollouts.stream().map(Rollouts::responseIds).toList();
  }

  /** The rollouts with {@code scores[i]} set on the i-th. */
  public static List<Rollout> withScores(List<Rollout> rollouts, double[] scores) {
    if (scores.length != rollouts.size()) {
      throw new IllegalArgumentException(scores.length + " scores for " + rollouts.size() + " rollouts");
    }
    List<Rollout> out = new ArrayList<>(rollouts.size());
    for (int i = 0; i < scores.length; i++) {
      out.add(rollouts.get(i).toBuilder().setScore(scores[i]).build());
    }
    return out;
  }

  /** The rollouts scored by {@code reward} on their prompt and response ids. */
  public static List<Rollout> scoredBy(List<Rollout> rollouts, RewardFunction reward) {
    return withScores(rollouts, reward.score(promptIds(rollouts), responseIds(rollouts)));
  }

  /** Every rollout's score; throws naming the first rollout without one. */
  public static double[] scores(List<Rollout> rollouts) {
    double[] out = new double[rollouts.size()];
    for (int i = 0; i < out.length; i++) {
      Rollout r = rollouts.get(i);
      if (!r.hasScore()) {
        throw new IllegalArgumentException("rollout " + r.getId() + " has no score: a scalar learner needs every"
            + " rollout scored (by a reward worker or a judge)");
      }
      out[i] = r.getScore();
    }
    return out;
  }

  /** The scores as an fp32 [B] array owned by {@code manager}. */
  public static NDArray scores(List<Rollout> rollouts, NDManager manager) {
    double[] scores = scores(rollouts);
    float[] out = new float[scores.length];
    for (int i = 0; i < scores.length; i++) {
      out[i] = (float) scores[i];
    }
    return manager.create(out);
  }

  /** The temperature every rollout of a batch was sampled at; a batch that mixes them is refused. */
  public static double temperature(List<Rollout> rollouts) {
    if (rollouts.isEmpty()) {
      throw new IllegalArgumentException("an empty batch of rollouts");
    }
    double t = rollouts.get(0).getTemperature();
    for (Rollout r : rollouts) {
      if (r.getTemperature() != t) {
        throw new IllegalArgumentException("rollouts sampled at temperatures " + t + " and " + r.getTemperature()
            + " in one batch (" + r.getId() + "): the ratio and the KL need one");
      }
    }
    if (!(t > 0)) {
      throw new IllegalArgumentException("rollout " + rollouts.get(0).getId() + " was sampled greedily (temperature "
          + t + "): its behaviour log-probs are not a distribution a policy gradient can use");
    }
    return t;
  }

  public static double mean(double[] values) {
    double s = 0;
    for (double v : values) {
      s += v;
    }
    return s / values.length;
  }

  /** Population standard deviation (TRL's old env/reward_std): how much the batch's rewards tell apart. */
  public static double std(double[] values) {
    double mean = mean(values);
    double s = 0;
    for (double v : values) {
      s += (v - mean) * (v - mean);
    }
    return Math.sqrt(s / values.length);
  }
}

package dev.troupe.actors.judge;

import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.protocol.Comparison;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The quickstart's stand-in for an AI judge: the hidden gold scorer, wrong on purpose on a set share of
 * comparisons, so that RLAIF runs without a judge model. Its id says "simulated" wherever a label or a report
 * shows it. Which verdicts are flipped is a function of the seed and the comparison's id alone, never of thread
 * timing or batch order.
 */
final class SimulatedJudge implements Judge {
  private final GoldScorer gold = new GoldScorer();
  private final double errorRate;
  private final long seed;
  private final String id;
  private final String rubricSha256;

  SimulatedJudge(String rubric, double errorRate, long seed) {
    if (!(errorRate >= 0 && errorRate <= 0.5)) {
      throw new IllegalArgumentException("a simulated judge's error rate must be in [0, 0.5], got " + errorRate);
    }
    this.errorRate = errorRate;
    this.seed = seed;
    this.id = String.format(Locale.ROOT, "simulated-gold(error=%.2f)", errorRate);
    this.rubricSha256 = Comparisons.sha256(rubric);
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String rubricSha256() {
    return rubricSha256;
  }

  /**
   * The gold scorer's preference, flipped where the comparison's draw falls under the error rate; equal gold
   * scores stay a tie (probability and confidence 0.5). The probability is the judge's known accuracy.
   */
  @Override
  public List<Verdict> judge(List<Comparison> comparisons) {
    List<Verdict> verdicts = new ArrayList<>(comparisons.size());
    for (Comparison comparison : comparisons) {
      Comparisons.requirePair(comparison);
      TaskPrompt prompt;
      try {
        prompt = QuickstartTask.parsePrompt(comparison.getPrompt().getText());
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("the simulated judge scores quickstart prompts only; comparison "
            + comparison.getId() + ": " + e.getMessage(), e);
      }
      double first = gold.score(prompt, comparison.getResponses(0).getText());
      double second = gold.score(prompt, comparison.getResponses(1).getText());
      if (first == second) {
        verdicts.add(Verdict.fromProbability(comparison, 0.5));
        continue;
      }
      boolean firstBetter = (first > second) != flipped(comparison.getId());
      verdicts.add(Verdict.fromProbability(comparison, firstBetter ? 1 - errorRate : errorRate));
    }
    return verdicts;
  }

  /** Whether this comparison's verdict is one of the wrong ones: a uniform draw from (seed, id) under the rate. */
  boolean flipped(String comparisonId) {
    // FNV-1a over the id, then the seed mixed in with MurmurHash3's fmix64: stable across JVMs and runs.
    long h = 0xcbf29ce484222325L;
    for (byte b : comparisonId.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ (b & 0xff)) * 0x100000001b3L;
    }
    h ^= seed * 0x9E3779B97F4A7C15L;
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    double uniform = (h >>> 11) * 0x1.0p-53;
    return uniform < errorRate;
  }
}

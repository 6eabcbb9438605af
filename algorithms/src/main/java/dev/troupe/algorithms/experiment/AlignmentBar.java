package dev.troupe.algorithms.experiment;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Issue 11's bar on a quickstart's results: every method gains on gold by more than a floor and a
 * multiple of the evaluation's standard deviation, stays within a KL bound, and buys no gain with
 * another skill (no kind of task falls by more than the same multiple of its own standard deviation).
 * The suite's alignment test and the benchmark apply the same check.
 */
public final class AlignmentBar {
  /** The methods the quickstart runs, in its order. */
  public static final List<String> METHODS = List.of("ppo", "grpo", "dpo");

  private AlignmentBar() {}

  /**
   * What fails the bar, one line per failure (empty: every method passes).
   *
   * @param results {@link Quickstart#run}'s map: sft_gold, sft_gold_by_kind, sft_gold_resampled_std(_by_kind),
   *     and &lt;method&gt;_gold, _gold_by_kind, _kl
   */
  public static List<String> failures(Map<String, Object> results, double minGain, double noiseMultiple,
      double maxKl) {
    double sft = number(results, "sft_gold");
    double noise = number(results, "sft_gold_resampled_std");
    Map<String, Double> sftByKind = byKind(results, "sft_gold_by_kind");
    Map<String, Double> noiseByKind = byKind(results, "sft_gold_resampled_std_by_kind");
    List<String> out = new ArrayList<>();
    for (String method : METHODS) {
      double gain = number(results, method + "_gold") - sft;
      double bar = Math.max(minGain, noiseMultiple * noise);
      if (!(gain > bar)) {
        out.add(String.format(Locale.ROOT, "%s gains %+.4f on gold over SFT %.4f, not above %.4f", method, gain, sft,
            bar));
      }
      double kl = number(results, method + "_kl");
      if (!(kl < maxKl)) {
        out.add(String.format(Locale.ROOT, "%s KL to the SFT policy %.3f, not below %.3f", method, kl, maxKl));
      }
      Map<String, Double> kinds = byKind(results, method + "_gold_by_kind");
      sftByKind.forEach((kind, before) -> {
        double change = kinds.getOrDefault(kind, Double.NaN) - before;
        double allowed = noiseMultiple * noiseByKind.getOrDefault(kind, Double.NaN);
        if (!(change >= -allowed)) {
          out.add(String.format(Locale.ROOT, "%s: %s falls %.4f → %.4f (%+.4f), beyond %.1f of its evaluation "
              + "std's (%.4f)", method, kind, before, kinds.get(kind), change, noiseMultiple, allowed));
        }
      });
    }
    return out;
  }

  private static double number(Map<String, Object> results, String key) {
    if (!(results.get(key) instanceof Number n)) {
      throw new IllegalArgumentException(key + " missing from the results " + results.keySet());
    }
    return n.doubleValue();
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Double> byKind(Map<String, Object> results, String key) {
    if (!(results.get(key) instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException(key + " missing from the results " + results.keySet());
    }
    return (Map<String, Double>) m;
  }
}

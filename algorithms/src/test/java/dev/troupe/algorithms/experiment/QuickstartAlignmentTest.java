package dev.troupe.algorithms.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The quickstart at its documented size, seed 1 (issue 11): the reward model agrees with the hidden
 * gold scorer on held-out pairs, and PPO, GRPO and DPO each raise the held-out gold score over the SFT
 * policy by more than max(0.05, 2 evaluation standard deviations), at a KL to it below 1 nat, without
 * buying it with another skill: no kind of task falls by more than 2 of its own evaluation standard
 * deviations. The gold-vs-KL curves come out beside the results. The suite's longest test, and its
 * point; seeds 1–5 are in BENCHMARKS.md ("Alignment on every seed").
 *
 * <p>The standard deviations are measured in the same run ({@link Quickstart#EVAL_RESAMPLES} resampled
 * evaluations of the SFT policy): about 0.006 overall and 0.01–0.025 per kind (some 200 prompts each).
 * Two of them, not three: a standard deviation from 8 samples is itself uncertain by about a quarter.
 * The reward model's bar, 0.85 on 2,300–2,500 held-out pairs (±0.007), is the issue's.
 */
class QuickstartAlignmentTest {
  private static final Logger LOG = LoggerFactory.getLogger(QuickstartAlignmentTest.class);

  private static final double MIN_RM_ACCURACY = 0.85;
  /** Every method's gold gain over SFT must exceed this and {@link #NOISE_MULTIPLE} evaluation std's. */
  private static final double MIN_GAIN = 0.05;
  private static final double NOISE_MULTIPLE = 2;
  /** Nats per response: each method stays near the SFT policy it started from. */
  private static final double MAX_KL = 1.0;
  /**
   * Cheaper curves than the documented run's (3 points per method on 100 prompts, best-of-n up to 16):
   * the test checks that they are drawn, the benchmark draws them in full; the methods' training and
   * final evaluation are the documented run's, to the last digit.
   */
  private static final Quickstart.Curves TEST_CURVES = new Quickstart.Curves(3, 100, 100, 16);

  @TempDir Path dir;

  @Test
  void everyMethodGainsOnGoldWithoutAnyKindFallingBeyondNoise() throws Exception {
    Map<String, Object> results = new Quickstart(Quickstart.Settings.defaults().withCurves(TEST_CURVES),
        (phase, metrics) -> {}).run(dir);
    LOG.info("quickstart seed 1: {}", results);
    double rmAccuracy = number(results, "rm_accuracy");
    assertTrue(rmAccuracy >= MIN_RM_ACCURACY, "reward model held-out accuracy " + rmAccuracy + " on "
        + results.get("rm_heldout_pairs") + " pairs");
    List<String> failures = AlignmentBar.failures(results, MIN_GAIN, NOISE_MULTIPLE, MAX_KL);
    assertTrue(failures.isEmpty(), String.join("; ", failures));

    @SuppressWarnings("unchecked")
    Map<String, String> curves = (Map<String, String>) results.get("curves");
    List<String> rows = Files.readAllLines(Path.of(curves.get("csv")));
    List<String> methods = new ArrayList<>();
    rows.stream().skip(1).map(r -> r.split(",")[0]).distinct().forEach(methods::add);
    assertEquals(List.of(GoldKlCurves.BEST_OF_N, "ppo", "grpo", "dpo"), methods);
    assertEquals(1 + TEST_CURVES.bestOfNMax() + 3 * (1 + TEST_CURVES.points()), rows.size(), String.join("\n", rows));
    assertTrue(Files.size(Path.of(curves.get("png"))) > 1000, "no picture");
  }

  private static double number(Map<String, Object> results, String key) {
    Object value = results.get(key);
    assertTrue(value instanceof Number, key + " missing from " + results.keySet());
    return ((Number) value).doubleValue();
  }
}

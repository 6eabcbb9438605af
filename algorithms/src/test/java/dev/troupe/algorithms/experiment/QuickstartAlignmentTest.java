package dev.troupe.algorithms.experiment;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The quickstart at its documented size, seed 1: the reward model agrees with the hidden gold
 * scorer on held-out pairs, and PPO, GRPO and DPO each raise the held-out gold score over the SFT
 * policy by a margin well outside the noise, at a small KL to it. About 7 minutes on 2 cores, the
 * suite's longest test by far, and its point.
 *
 * <p>The bounds come from seeds 1, 2 and 3 of this code (BENCHMARKS.md, "Quickstart"); runs are
 * bit-reproducible, so each seed is one number on a given machine. Gains over SFT were +0.038 to
 * +0.082 (PPO +0.055 / +0.050 / +0.042, GRPO +0.082 / +0.067 / +0.060, DPO +0.072 / +0.038 / +0.044),
 * KL 0.18 to 0.74 nats, while the gold mean of one policy resampled with other seeds moved by a
 * standard deviation of 0.006 to 0.009: every run's smallest gain was 4 to 9 of its own standard
 * deviations. Each gain must exceed both 0.03 and two standard deviations as measured in the same
 * run (not three: a standard deviation taken from five samples is itself uncertain by about a
 * third). The reward model's held-out accuracy, on 2,300 to 2,500 pairs (±0.007), was 0.945, 0.932 and
 * 0.882 on seeds 1–3: the bar of 0.85 is asserted as it stands, since another CPU's
 * arithmetic makes a different run (a fresh draw) and the worst seed clears it by five standard errors.
 */
class QuickstartAlignmentTest {
  private static final Logger LOG = LoggerFactory.getLogger(QuickstartAlignmentTest.class);

  /** The bar; seeds 1–3 give 0.945, 0.932, 0.882 on 2,300–2,500 pairs. */
  private static final double MIN_RM_ACCURACY = 0.85;
  /** Every method's gold gain over SFT must exceed this and two evaluation standard deviations. */
  private static final double MIN_GAIN = 0.03;
  private static final double NOISE_MULTIPLE = 2;
  /** Nats per response: each method stays near the SFT policy it started from (seen: 0.18–0.74). */
  private static final double MAX_KL = 1.0;

  @TempDir Path dir;

  @Test
  void rewardModelAgreesWithGoldAndEveryMethodBeatsSft() throws Exception {
    Map<String, Object> results = new Quickstart(Quickstart.Settings.defaults(), (phase, metrics) -> {}).run(dir);
    LOG.info("quickstart seed 1: {}", results);
    double rmAccuracy = number(results, "rm_accuracy");
    LOG.info("reward model held-out accuracy {} on {} pairs", rmAccuracy, results.get("rm_heldout_pairs"));
    assertTrue(rmAccuracy >= MIN_RM_ACCURACY, "reward model held-out accuracy " + rmAccuracy);
    double sft = number(results, "sft_gold");
    double noise = number(results, "sft_gold_resampled_std");
    for (String method : List.of("ppo", "grpo", "dpo")) {
      double gain = number(results, method + "_gold") - sft;
      double kl = number(results, method + "_kl");
      assertTrue(gain > Math.max(MIN_GAIN, NOISE_MULTIPLE * noise), method + " gold " + number(results, method + "_gold") + " vs SFT " + sft
          + ": gain " + gain + " (evaluation noise in this run: " + noise + ")");
      assertTrue(kl < MAX_KL, method + " KL to the SFT policy " + kl);
    }
  }

  private static double number(Map<String, Object> results, String key) {
    Object value = results.get(key);
    assertTrue(value instanceof Number, key + " missing from " + results.keySet());
    return ((Number) value).doubleValue();
  }
}

package dev.troupe.algorithms.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AlignmentBarTest {
  /** Seed 2's SFT figures (BENCHMARKS.md): gold 0.775, std 0.005; sort 0.742 with std 0.023. */
  private static Map<String, Object> results(double dpoGold, double dpoSort, double dpoKl) {
    Map<String, Object> r = new HashMap<>();
    r.put("sft_gold", 0.775);
    r.put("sft_gold_resampled_std", 0.005);
    r.put("sft_gold_by_kind", Map.of("sort", 0.742, "polite", 0.758));
    r.put("sft_gold_resampled_std_by_kind", Map.of("sort", 0.023, "polite", 0.022));
    for (String m : List.of("ppo", "grpo")) {
      r.put(m + "_gold", 0.85);
      r.put(m + "_kl", 0.3);
      r.put(m + "_gold_by_kind", Map.of("sort", 0.75, "polite", 0.95));
    }
    r.put("dpo_gold", dpoGold);
    r.put("dpo_kl", dpoKl);
    r.put("dpo_gold_by_kind", Map.of("sort", dpoSort, "polite", 0.96));
    return r;
  }

  @Test
  void aGainBoughtWithAKindBeyondTwoOfItsStdsFails() {
    assertEquals(List.of(), AlignmentBar.failures(results(0.83, 0.742 - 0.045, 0.4), 0.05, 2, 1));
    List<String> failures = AlignmentBar.failures(results(0.83, 0.742 - 0.047, 0.4), 0.05, 2, 1);
    assertEquals(1, failures.size(), failures.toString());
    assertTrue(failures.get(0).startsWith("dpo: sort falls"), failures.get(0));
  }

  @Test
  void aGainAtTheFloorOrAKlOfOneNatFails() {
    // The seed: +0.018 at KL 0.86, and +0.049 just under the floor.
    assertEquals(1, AlignmentBar.failures(results(0.793, 0.75, 0.86), 0.05, 2, 1).size());
    assertEquals(1, AlignmentBar.failures(results(0.824, 0.75, 0.5), 0.05, 2, 1).size());
    assertEquals(1, AlignmentBar.failures(results(0.83, 0.75, 1.0), 0.05, 2, 1).size());
    // Noise above the floor's half raises the bar: 2 × 0.04 = 0.08, above every method's gain (0.075, 0.055).
    Map<String, Object> noisy = results(0.83, 0.75, 0.5);
    noisy.put("sft_gold_resampled_std", 0.04);
    assertEquals(3, AlignmentBar.failures(noisy, 0.05, 2, 1).size());
  }
}

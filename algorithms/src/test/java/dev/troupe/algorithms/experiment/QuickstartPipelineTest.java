package dev.troupe.algorithms.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.algorithms.metrics.Metrics;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quickstart pipeline end to end at tiny sizes: every phase runs and reports its figure. Whether
 * alignment raises the gold score is the full-size experiment's job (BENCHMARKS.md), not this test's.
 */
class QuickstartPipelineTest {
  @TempDir Path dir;

  @Test
  void everyPhaseRunsAsPlannedAndReportsAFiniteFigure() throws Exception {
    Map<String, Long> planned = new LinkedHashMap<>();
    Map<String, Long> taken = new LinkedHashMap<>();
    Map<String, Object> results = new Quickstart(Quickstart.Settings.tiny(), new Quickstart.Progress() {
      @Override
      public void phaseStarted(String phase, long plannedSteps) {
        planned.put(phase, plannedSteps);
      }

      @Override
      public void step(String phase, Metrics metrics) {
        assertTrue(planned.containsKey(phase), "a step of " + phase + " before the phase started");
        taken.merge(phase, 1L, Long::sum);
      }
    }).run(dir);
    assertEquals(List.of("sft", "rm", "best-of-n", "ppo", "grpo", "dpo"), List.copyOf(planned.keySet()));
    // The progress bars' totals: exact, the reward model's too, though its pair count is known only at run time.
    assertEquals(planned, taken);
    for (String key : List.of("sft_gold", "ppo_gold", "grpo_gold", "dpo_gold")) {
      double v = ((Number) results.get(key)).doubleValue();
      assertTrue(v >= 0 && v <= 1, key + " = " + v + " is not a gold score in [0, 1]");
    }
    for (String key : List.of("ppo_kl", "grpo_kl", "dpo_kl", "rm_accuracy", "seconds", "ppo_seconds", "grpo_seconds",
        "dpo_seconds", "sft_gold_resampled_std")) {
      assertTrue(Double.isFinite(((Number) results.get(key)).doubleValue()), key + " = " + results.get(key));
    }
    assertTrue(((Number) results.get("rm_pairs")).intValue() > 0, "no labelled pairs");
    @SuppressWarnings("unchecked")
    Map<String, Double> rmByKind = (Map<String, Double>) results.get("rm_accuracy_by_kind");
    assertTrue(rmByKind != null && !rmByKind.isEmpty(), "rm_accuracy_by_kind missing: " + results.keySet());
    double rmAccuracy = ((Number) results.get("rm_accuracy")).doubleValue();
    assertTrue(rmByKind.values().stream().allMatch(a -> a >= 0 && a <= 1), rmByKind.toString());
    // The overall accuracy is the kinds' accuracies weighted by their pair counts, so it lies between them.
    assertTrue(Collections.min(rmByKind.values()) - 1e-9 <= rmAccuracy
        && rmAccuracy <= Collections.max(rmByKind.values()) + 1e-9, rmAccuracy + " outside " + rmByKind);
    for (String method : List.of("sft", "ppo", "grpo", "dpo")) {
      @SuppressWarnings("unchecked")
      Map<String, Double> byKind = (Map<String, Double>) results.get(method + "_gold_by_kind");
      assertTrue(byKind != null && !byKind.isEmpty(), method + "_gold_by_kind missing: " + results.keySet());
      // The overall mean is the kinds' means weighted by their shares, so it lies between them.
      double overall = ((Number) results.get(method + "_gold")).doubleValue();
      double min = byKind.values().stream().mapToDouble(Double::doubleValue).min().orElseThrow();
      double max = byKind.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
      assertTrue(min - 1e-9 <= overall && overall <= max + 1e-9, method + ": " + overall + " outside " + byKind);
    }
    @SuppressWarnings("unchecked")
    Map<String, Double> noise = (Map<String, Double>) results.get("sft_gold_resampled_std_by_kind");
    assertEquals(((Map<?, ?>) results.get("sft_gold_by_kind")).keySet(), noise.keySet());

    // The curves: each method from the SFT start (step 0, KL 0) to its last step, and best-of-n for n = 1..4.
    @SuppressWarnings("unchecked")
    Map<String, String> curves = (Map<String, String>) results.get("curves");
    List<String> rows = Files.readAllLines(Path.of(curves.get("csv")));
    Quickstart.Settings tiny = Quickstart.Settings.tiny();
    for (AlignmentRuns.Run run : tiny.runs()) {
      List<String> steps = rows.stream().filter(r -> r.startsWith(run.name() + ",")).map(r -> r.split(",")[1]).toList();
      assertEquals(List.of("0", String.valueOf(run.steps() / 2), String.valueOf(run.steps())), steps, run.name());
    }
    assertEquals(List.of("1", "2", "3", "4"), rows.stream().filter(r -> r.startsWith(GoldKlCurves.BEST_OF_N + ","))
        .map(r -> r.split(",")[1]).toList());
    assertTrue(Files.size(Path.of(curves.get("png"))) > 1000, "no picture");
  }
}

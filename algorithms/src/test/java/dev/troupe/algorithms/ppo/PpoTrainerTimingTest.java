package dev.troupe.algorithms.ppo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.transformer.CausalLm;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The phase timings a PPO iteration reports (what `troupe bench algorithms` reads); no speed bars. */
class PpoTrainerTimingTest {
  private static final List<String> PHASES = List.of(MetricNames.TIME_GENERATE, MetricNames.TIME_SCORE,
      MetricNames.TIME_REFERENCE, MetricNames.TIME_UPDATE);

  @Test
  void everyPhaseIsTimedAndThePhasesAddUpToAtMostTheIteration() {
    try (NDManager root = NDManager.newBaseManager(); CausalLm model = CausalLm.random(Fixtures.tinyLlama(258), 1, root)) {
      Adapter adapter = model.createAdapter("ppo", LoraConfig.of(8, 16, "q", "v"), 2);
      // Longer responses score higher: any rule will do, only the clock is under test.
      RewardFunction reward = (prompts, responses) -> responses.stream().mapToDouble(r -> r.length).toArray();
      List<long[]> prompts = List.of(new long[] {256, 104, 105}, new long[] {256, 111, 107, 33});
      try (PpoTrainer trainer = new PpoTrainer(model, adapter, PpoConfig.defaults(), reward, 1e-3, 1.0, 3)) {
        for (int i = 0; i < 2; i++) {
          Metrics m = trainer.iteration(prompts, SamplingParams.sample(6, 1.0, 4), 1e-3);
          double sum = 0;
          for (String phase : PHASES) {
            assertTrue(m.get(phase) >= 0, phase + " = " + m.get(phase));
            sum += m.get(phase);
          }
          double whole = m.get(MetricNames.TIME_ITERATION);
          assertTrue(whole > 0, "iteration " + whole);
          assertTrue(sum <= whole + 1e-6, "phases " + sum + " s > iteration " + whole + " s: " + m);
        }
      }
    }
  }
}

package dev.troupe.algorithms.grpo;

import static dev.troupe.algorithms.TargetTokenTask.EVALUATION;
import static dev.troupe.algorithms.TargetTokenTask.HELD_OUT;
import static dev.troupe.algorithms.TargetTokenTask.LR;
import static dev.troupe.algorithms.TargetTokenTask.REWARD;
import static dev.troupe.algorithms.TargetTokenTask.TARGET;
import static dev.troupe.algorithms.TargetTokenTask.TRAINING;
import static dev.troupe.algorithms.TargetTokenTask.VOCAB;
import static dev.troupe.algorithms.TargetTokenTask.adapter;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.Fixtures.Samples;
import dev.troupe.algorithms.TargetTokenTask;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** GRPO and RLOO on {@link dev.troupe.algorithms.TargetTokenTask}. */
class GrpoTrainerTest {
  private static final Logger LOG = LoggerFactory.getLogger(GrpoTrainerTest.class);
  private static final int GROUP = 8;

  /** 4 prompts a batch, each sampled {@link #GROUP} times. */
  private static List<long[]> batch(int iteration) {
    return TargetTokenTask.batch(iteration, 4);
  }

  /** TRL's GRPO defaults (clip 0.2, β 0.04) with groups of 8 and {@code updates} passes over each batch. */
  private static GrpoConfig config(GrpoConfig.Advantage advantage, int updates) {
    return new GrpoConfig(GROUP, advantage, true, 1e-4, 0.2, 0.04, updates);
  }

  @ParameterizedTest
  @EnumSource(GrpoConfig.Advantage.class)
  void groupAdvantagesRaiseTheRewardOfFreshSamplesAndLeaveTheReferenceBitIdentical(GrpoConfig.Advantage advantage) {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(VOCAB), 1, root)) {
      Samples base = Fixtures.sample(model, null, HELD_OUT, EVALUATION, REWARD);
      List<float[]> referenceBefore = referenceLogps(model);
      Adapter adapter = adapter(model, "grpo");
      List<Metrics> history = new ArrayList<>();
      long start = System.nanoTime();
      try (GrpoTrainer trainer = new GrpoTrainer(model, adapter, config(advantage, 1), OptimizerSettings.of(LR))) {
        for (int i = 0; i < 15; i++) {
          history.add(iterate(trainer, model, batch(i), i, REWARD));
        }
      }
      long millis = (System.nanoTime() - start) / 1_000_000;
      Samples policy = Fixtures.sample(model, adapter, HELD_OUT, EVALUATION, REWARD);
      LOG.info("{}, 15 iterations of 4 groups of {} in {} ms: held-out reward {} (base) -> {} (policy), KL {} nats;"
          + " batch scores {} -> {}", advantage, GROUP, millis, base.meanReward(), policy.meanReward(), policy.kl(),
          history.get(0).get(MetricNames.OBJECTIVE_SCORES), history.get(14).get(MetricNames.OBJECTIVE_SCORES));

      // Measured: 0.125 -> 0.396 (GRPO) and 0.400 (RLOO), KL 1.9 nats. Model seeds 3 and 4 gained 0.17
      // and 0.21 with either advantage; the bound sits below those, and is still 4 standard errors
      // of the 512-token means.
      assertTrue(policy.meanReward() > base.meanReward() + 0.1,
          advantage + ": held-out reward " + base.meanReward() + " -> " + policy.meanReward());
      List<float[]> referenceAfter = referenceLogps(model);
      for (int i = 0; i < referenceBefore.size(); i++) {
        assertArrayEquals(referenceBefore.get(i), referenceAfter.get(i), 0f, "the reference (adapter off) moved");
      }
    }
  }

  @Test
  void everyIterationScoresWholeGroupsAndReportsTheDocumentedMetrics() {
    List<List<long[]>> scoredPrompts = new ArrayList<>();
    List<double[]> scores = new ArrayList<>();
    RewardFunction recorded = (prompts, responses) -> {
      scoredPrompts.add(prompts);
      scores.add(REWARD.score(prompts, responses));
      return scores.get(scores.size() - 1);
    };
    List<String> names = List.of(MetricNames.OBJECTIVE_SCORES, MetricNames.OBJECTIVE_SCORES_STD, MetricNames.LOSS, MetricNames.KL,
        MetricNames.POLICY_CLIPFRAC, MetricNames.GRAD_NORM, MetricNames.OPTIM_SKIPPED_STEPS);
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(VOCAB), 1, root);
        GrpoTrainer trainer = new GrpoTrainer(model, adapter(model, "grpo"), config(GrpoConfig.Advantage.GRPO, 1), OptimizerSettings.of(LR))) {
      for (int i = 0; i < 2; i++) {
        List<long[]> prompts = batch(i);
        Metrics m = iterate(trainer, model, prompts, i, recorded);
        LOG.info("iteration {}: {}", i, m);
        for (String name : names) {
          assertTrue(m.contains(name), "no " + name + " in " + m.asMap().keySet());
          assertTrue(Double.isFinite(m.get(name)), name + " = " + m.get(name));
        }
        // The group advantages rely on each prompt's samples sitting next to each other.
        List<long[]> seen = scoredPrompts.get(i);
        assertEquals(prompts.size() * GROUP, seen.size());
        for (int row = 0; row < seen.size(); row++) {
          assertArrayEquals(prompts.get(row / GROUP), seen.get(row), "row " + row);
        }
        double mean = Arrays.stream(scores.get(i)).average().orElseThrow();
        assertEquals(mean, m.get(MetricNames.OBJECTIVE_SCORES), 1e-12);
        assertEquals(Math.sqrt(Arrays.stream(scores.get(i)).map(v -> (v - mean) * (v - mean)).average().orElseThrow()),
            m.get(MetricNames.OBJECTIVE_SCORES_STD), 1e-12);
        assertEquals(0, m.get(MetricNames.OPTIM_SKIPPED_STEPS), 0);
        if (i == 0) {
          // LoRA's B starts at 0, so the policy is the reference until the first step: KL exactly 0,
          // and with one update per batch the ratio is exactly 1 and nothing is clipped.
          assertEquals(0.0, m.get(MetricNames.KL), 0);
          assertEquals(0.0, m.get(MetricNames.POLICY_CLIPFRAC), 0);
        } else {
          assertTrue(m.get(MetricNames.KL) > 0, "one step moved the policy off the reference");
        }
      }
    }
  }

  @Test
  void aNonFiniteRewardSkipsTheUpdatesCountsThemAndTrainingGoesOn() {
    boolean[] poisoned = {false};
    RewardFunction sometimesNaN = (prompts, responses) -> {
      double[] scores = REWARD.score(prompts, responses);
      if (poisoned[0]) {
        scores[5] = Double.NaN; // one bad score: its group's mean and std, hence its advantages, are NaN
      }
      return scores;
    };
    int updates = 2;
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(VOCAB), 1, root)) {
      Adapter adapter = adapter(model, "grpo");
      try (GrpoTrainer trainer = new GrpoTrainer(model, adapter, config(GrpoConfig.Advantage.GRPO, updates),
          OptimizerSettings.of(LR))) {
        iterate(trainer, model, batch(0), 0, sometimesNaN);
        List<float[]> before = Fixtures.snapshot(adapter.parameters());

        poisoned[0] = true;
        Metrics bad = iterate(trainer, model, batch(1), 1, sometimesNaN);
        poisoned[0] = false;
        LOG.info("poisoned iteration: {}", bad);
        assertTrue(Double.isNaN(bad.get(MetricNames.LOSS)));
        assertEquals(updates, bad.get(MetricNames.OPTIM_SKIPPED_STEPS), 0, "every update of the batch is refused");
        List<float[]> after = Fixtures.snapshot(adapter.parameters());
        for (int i = 0; i < before.size(); i++) {
          assertArrayEquals(before.get(i), after.get(i), 0f, "adapter tensor " + i + " moved on a NaN loss");
        }

        for (int i = 2; i < 4; i++) {
          Metrics m = iterate(trainer, model, batch(i), i, sometimesNaN);
          assertTrue(Double.isFinite(m.get(MetricNames.LOSS)) && Double.isFinite(m.get(MetricNames.GRAD_NORM)), m.toString());
          assertEquals(updates, m.get(MetricNames.OPTIM_SKIPPED_STEPS), 0, "the count is a running total");
        }
        assertFalse(Fixtures.sameValues(after, Fixtures.snapshot(adapter.parameters())),
            "clean batches update the adapter again");
      }
    }
  }

  /**
   * Every tensor of an update lives in a manager closed before {@code iteration} returns: after
   * the first iteration (which creates the adapter's .grad tensors, meant to stay), the model's
   * manager, adapters included, holds the same number of arrays however many iterations follow.
   */
  @Test
  void iterationsLeaveTheModelAndAdapterManagersTheSameSize() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(VOCAB), 1, root)) {
      Adapter adapter = adapter(model, "grpo");
      try (GrpoTrainer trainer = new GrpoTrainer(model, adapter, config(GrpoConfig.Advantage.RLOO, 3), OptimizerSettings.of(LR))) {
        iterate(trainer, model, batch(0), 0, REWARD);
        int modelArrays = model.manager().getManagedArrays().size();
        int adapterArrays = adapter.manager().getManagedArrays().size();
        for (int i = 1; i < 4; i++) {
          iterate(trainer, model, batch(i), i, REWARD);
          assertEquals(modelArrays, model.manager().getManagedArrays().size(), "model manager, iteration " + i);
          assertEquals(adapterArrays, adapter.manager().getManagedArrays().size(), "adapter manager, iteration " + i);
        }
      }
    }
  }

  /** Log-probs under the adapter-off reference of fixed responses to the held-out prompts. */
  private static List<float[]> referenceLogps(CausalLm model) {
    List<long[]> responses = Fixtures.randomPrompts(HELD_OUT.size(), 8, VOCAB, 123);
    return LogProbs.score(model, HELD_OUT, responses, null, 1.0);
  }
  /** One round as the trainer once ran it itself: a group of samples per prompt at seed TRAINING + round, scored. */
  private static Metrics iterate(GrpoTrainer trainer, CausalLm model, List<long[]> prompts, int round,
      RewardFunction reward) {
    return trainer.learn(Fixtures.scoredRollouts(model, trainer.adapter(), prompts, GROUP,
        TRAINING.withSeed(TRAINING.seed() + round), reward));
  }
}

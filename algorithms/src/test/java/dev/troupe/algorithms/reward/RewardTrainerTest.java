package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.reward.RewardTrainer.Trainable;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The trainer's memory stays flat from step to step, and its bootstrap draws are those of a bootstrap. */
class RewardTrainerTest {
  private static final Logger LOG = LoggerFactory.getLogger(RewardTrainerTest.class);

  @ParameterizedTest
  @EnumSource(Trainable.class)
  void twentyStepsLeaveEveryLongLivedManagerTheSameSize(Trainable trainable) {
    Random random = new Random(5);
    List<TokenPair> pairs = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      pairs.add(new TokenPair(randomRow(random), randomRow(random), i % 3));
    }
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(97), 6, root)) {
      Adapter adapter = base.createAdapter("reward", LoraConfig.of(4, 8, "q", "v"), 2);
      // Two heads, bootstrap and centring on: every code path of a step runs.
      RewardTrainer.Config config = RewardTrainer.Config.of(trainable, 4, 1e-3)
          .withCenterRewards(0.01).withBootstrap(true).withSeed(3);
      try (RewardModel model = new RewardModel(base, adapter, RewardHead.random(64, 2, 1, root));
          RewardTrainer trainer = new RewardTrainer(model, config)) {
        List<float[]> frozenBefore = trainable == Trainable.HEAD_AND_BASE ? null : snapshot(base.baseParameters());
        List<float[]> adapterBefore = snapshot(adapter.parameters());
        float[] headBefore = model.head().parameters().get(0).toFloatArray();
        trainer.train(pairs); // the first steps create the .grad tensors, which are meant to stay
        int baseArrays = base.manager().getManagedArrays().size();
        int adapterArrays = adapter.manager().getManagedArrays().size();
        int headArrays = model.head().manager().getManagedArrays().size();
        int optimizerArrays = trainer.optimizer().manager().getManagedArrays().size();

        for (int i = 0; i < 20; i++) {
          RewardTrainer.StepMetrics metrics = trainer.step(pairs.subList(i % 2 * 4, i % 2 * 4 + 4));
          assertFalse(metrics.skipped());
          assertTrue(Double.isFinite(metrics.loss()) && metrics.gradNorm() > 0, metrics.toString());
        }
        trainer.evaluate(pairs);
        model.score(List.of(pairs.get(0).chosen()));

        assertEquals(baseArrays, base.manager().getManagedArrays().size(), "base manager");
        assertEquals(adapterArrays, adapter.manager().getManagedArrays().size(), "adapter manager");
        assertEquals(headArrays, model.head().manager().getManagedArrays().size(), "head manager");
        assertEquals(optimizerArrays, trainer.optimizer().manager().getManagedArrays().size(), "optimizer manager");
        assertEquals(22, trainer.optimizer().stepCount());
        assertNotEquals(headBefore[0], model.head().parameters().get(0).toFloatArray()[0], "the head trains");
        if (trainable != Trainable.HEAD_AND_ADAPTER) {
          List<float[]> adapterAfter = snapshot(adapter.parameters());
          for (int i = 0; i < adapterBefore.size(); i++) {
            assertArrayEquals(adapterBefore.get(i), adapterAfter.get(i), "adapter tensor " + i + " is untouched");
          }
        } else {
          assertFalse(Fixtures.sameValues(adapterBefore, snapshot(adapter.parameters())), "the adapter trains");
        }
        if (frozenBefore != null) {
          List<float[]> frozenAfter = snapshot(base.baseParameters());
          for (int i = 0; i < frozenBefore.size(); i++) {
            assertArrayEquals(frozenBefore.get(i), frozenAfter.get(i), "base tensor " + i + " is untouched");
          }
        }
      }
    }
  }

  /**
   * Gradient accumulation: a batch of 6 pairs in 4 micro-batches (2, 2, 1, 1 pairs) gives the update
   * and the metrics of the batch in one pass, since each micro-batch's mean loss counts by its share.
   */
  @Test
  void fourMicroBatchesOfUnevenSizeTrainAsOneBatch() {
    List<RewardTrainer.StepMetrics> whole = new ArrayList<>();
    List<RewardTrainer.StepMetrics> accumulated = new ArrayList<>();
    List<float[]> wholeWeights = trainWithAccumulation(1, whole);
    List<float[]> accumulatedWeights = trainWithAccumulation(4, accumulated);
    Fixtures.assertCloseTensors(wholeWeights, accumulatedWeights, "head and adapter after 5 steps");
    for (int i = 0; i < whole.size(); i++) {
      assertEquals(whole.get(i).loss(), accumulated.get(i).loss(), 1e-5, "loss of step " + i);
      assertEquals(whole.get(i).accuracy(), accumulated.get(i).accuracy(), 1e-9, "accuracy of step " + i);
      assertEquals(whole.get(i).margins(), accumulated.get(i).margins(), 1e-4, "margins of step " + i);
    }
  }

  private static List<float[]> trainWithAccumulation(int microBatches, List<RewardTrainer.StepMetrics> steps) {
    Random random = new Random(5);
    List<TokenPair> pairs = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      pairs.add(new TokenPair(randomRow(random), randomRow(random), i % 3));
    }
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(97), 6, root)) {
      Adapter adapter = base.createAdapter("reward", LoraConfig.of(4, 8, "q", "v"), 2);
      try (RewardModel model = new RewardModel(base, adapter, RewardHead.random(64, 1, 1, root));
          RewardTrainer trainer = new RewardTrainer(model,
              RewardTrainer.Config.of(Trainable.HEAD_AND_ADAPTER, 6, 1e-2).withGradientAccumulation(microBatches))) {
        for (int i = 0; i < 5; i++) {
          steps.add(trainer.step(pairs));
        }
        return snapshot(trainer.parameters());
      }
    }
  }

  @Test
  void aBatchWithANonFiniteLossIsSkippedAndCountedAndTrainingGoesOn() {
    Random random = new Random(5);
    List<TokenPair> clean = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      clean.add(TokenPair.of(randomRow(random), randomRow(random)));
    }
    long poison = 95; // randomRow draws ids 1 and 3..92
    List<TokenPair> poisoned = new ArrayList<>(clean);
    poisoned.set(1, TokenPair.of(new long[] {1, poison, 7, 9}, clean.get(1).rejected()));
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(97), 6, root)) {
      Fixtures.poisonToken(base, poison);
      Adapter adapter = base.createAdapter("reward", LoraConfig.of(4, 8, "q", "v"), 2);
      try (RewardModel model = new RewardModel(base, adapter, RewardHead.random(64, 1, 1, root));
          RewardTrainer trainer = new RewardTrainer(model,
              RewardTrainer.Config.of(Trainable.HEAD_AND_ADAPTER, 4, 1e-3))) {
        assertFalse(trainer.step(clean).skipped());
        List<float[]> before = snapshot(trainer.parameters());

        RewardTrainer.StepMetrics bad = trainer.step(poisoned);
        assertTrue(bad.skipped() && Double.isNaN(bad.loss()), bad.toString());
        assertEquals(1, bad.skippedSteps());
        assertEquals(1.0, bad.asMap().get(MetricNames.OPTIM_SKIPPED_STEPS), 0);
        List<float[]> after = snapshot(trainer.parameters());
        for (int i = 0; i < before.size(); i++) {
          assertArrayEquals(before.get(i), after.get(i), "head or adapter tensor " + i + " moved on a NaN loss");
        }

        for (int i = 0; i < 3; i++) {
          RewardTrainer.StepMetrics next = trainer.step(clean);
          assertFalse(next.skipped());
          assertTrue(Double.isFinite(next.loss()), next.toString());
          assertEquals(1, next.skippedSteps(), "the count is a running total");
        }
        assertFalse(Fixtures.sameValues(after, snapshot(trainer.parameters())), "clean batches train again");
        LOG.info("reward model: poisoned step {}", bad);
      }
    }
  }

  @Test
  void bootstrapCountsArePoissonOneAndTheSameEveryTimeAPairIsSeen() {
    Random random = new Random(9);
    int n = 20_000;
    int zeros = 0;
    long total = 0;
    int sameAcrossMembers = 0;
    for (int i = 0; i < n; i++) {
      TokenPair pair = TokenPair.of(randomRow(random), randomRow(random));
      int count = RewardTrainer.bootstrapWeight(pair, 0, 42);
      assertEquals(count, RewardTrainer.bootstrapWeight(TokenPair.of(pair.chosen().clone(), pair.rejected()), 0, 42),
          "a function of the tokens, not of the array's identity");
      zeros += count == 0 ? 1 : 0;
      total += count;
      sameAcrossMembers += count == RewardTrainer.bootstrapWeight(pair, 1, 42) ? 1 : 0;
    }
    // Poisson(1): mean 1, P(0) = e^−1 = 0.368; two independent draws agree with probability
    // Σ P(k)² = e^−2 · I0(2) = 0.308.
    assertEquals(1.0, (double) total / n, 0.03);
    assertEquals(Math.exp(-1), (double) zeros / n, 0.015);
    assertEquals(0.308, (double) sameAcrossMembers / n, 0.015);
  }

  private static long[] randomRow(Random random) {
    long[] row = new long[3 + random.nextInt(8)];
    row[0] = 1;
    for (int i = 1; i < row.length; i++) {
      row[i] = 3 + random.nextInt(90);
    }
    return row;
  }

  private static List<float[]> snapshot(List<NDArray> tensors) {
    return tensors.stream().map(NDArray::toFloatArray).toList();
  }
}

package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
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

/** The trainer's memory stays flat from step to step, and its bootstrap draws are those of a bootstrap. */
class RewardTrainerTest {

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
        if (frozenBefore != null) {
          List<float[]> frozenAfter = snapshot(base.baseParameters());
          for (int i = 0; i < frozenBefore.size(); i++) {
            assertArrayEquals(frozenBefore.get(i), frozenAfter.get(i), "base tensor " + i + " is untouched");
          }
        }
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

package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.GradMode;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** −log σ(r_c − r_r − m), checked against values computed by hand (Python's math module). */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
class BradleyTerryLossTest {
  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void close() {
    manager.close();
  }

  @Test
  void lossIsMinusLogSigmoidOfTheRewardDifferenceAveragedOverPairs() {
    // Pair 1: −log σ(2.0 − 0.5) = log(1 + e^−1.5) = 0.2014133; pair 2 is wrong way round: log(1 + e^1) = 1.3132617.
    BradleyTerryLoss.Output single = BradleyTerryLoss.compute(
        manager.create(new float[] {2.0f}), manager.create(new float[] {0.5f}), null);
    assertEquals(0.2014133, single.lossValue(), 1e-6);

    BradleyTerryLoss.Output out = BradleyTerryLoss.compute(
        manager.create(new float[] {2.0f, 0.0f}), manager.create(new float[] {0.5f, 1.0f}), null);
    assertEquals(0.7573375, out.loss().getFloat(), 1e-6);
    assertEquals(Map.of("loss", out.lossValue(), "accuracy", 0.5, "rewards/chosen", 1.0,
        "rewards/rejected", 0.75, "rewards/margins", 0.25), out.metrics());
  }

  @Test
  void llama2MarginIsSubtractedFromTheRewardDifference() {
    NDArray chosen = manager.create(new float[] {2.0f, 0.0f});
    NDArray rejected = manager.create(new float[] {0.5f, 1.0f});
    // Pair 1 with margin 1: −log σ(1.5 − 1) = 0.4740770; pair 2 without: 1.3132617.
    BradleyTerryLoss.Output out = BradleyTerryLoss.compute(chosen, rejected, manager.create(new float[] {1f, 0f}));
    assertEquals(0.8936693, out.lossValue(), 1e-6);
    assertEquals(0.5, out.accuracy(), "the margin changes the loss, not which response scored higher");
    BradleyTerryLoss.Output zero = BradleyTerryLoss.compute(chosen, rejected, manager.create(new float[] {0f, 0f}));
    assertEquals(0.7573375, zero.lossValue(), 1e-6, "zero margins are plain Bradley–Terry");
  }

  @Test
  void gradientOfTheChosenRewardIsMinusSigmoidOfMinusTheDifference() {
    NDArray chosen = manager.create(new float[] {2.0f});
    NDArray rejected = manager.create(new float[] {0.5f});
    chosen.setRequiresGradient(true);
    rejected.setRequiresGradient(true);
    try (GradMode ignored = GradMode.enabled()) {
      GradMode.backward(BradleyTerryLoss.compute(chosen, rejected, null).loss());
    }
    assertEquals(-0.1824255, chosen.getGradient().getFloat(), 1e-6); // −σ(−1.5)
    assertEquals(0.1824255, rejected.getGradient().getFloat(), 1e-6);
  }

  @Test
  void hugeRewardGapsGiveFiniteLossesAndGradients() {
    NDArray chosen = manager.create(new float[] {-100f, 100f});
    NDArray rejected = manager.create(new float[] {0f, 0f});
    chosen.setRequiresGradient(true);
    float loss;
    try (GradMode ignored = GradMode.enabled()) {
      NDArray l = BradleyTerryLoss.compute(chosen, rejected, null).loss();
      GradMode.backward(l);
      loss = l.getFloat();
    }
    assertEquals(50.0, loss, 1e-4, "(100 + 0) / 2: −log σ(−100) = 100, not ∞");
    float[] grad = chosen.getGradient().toFloatArray();
    assertEquals(-0.5, grad[0], 1e-6);
    assertEquals(0.0, grad[1], 1e-6);
  }

  @Test
  void ensembleLossIsTheMeanOverMembersOfEachMembersWeightedLoss() {
    NDArray chosen = manager.create(new float[] {2f, 1f, 0f, 3f}, new Shape(2, 2)); // [pair, member]
    NDArray rejected = manager.create(new float[] {0.5f, 1.5f, 1f, 0f}, new Shape(2, 2));
    // Per pair and member: [[0.2014133, 0.9740770], [1.3132617, 0.0485874]].
    BradleyTerryLoss.Output plain = BradleyTerryLoss.compute(chosen, rejected, null);
    assertEquals(0.6343348, plain.lossValue(), 1e-6);
    // Member 0 drew pair 0 twice and pair 1 once: (2·0.2014133 + 1.3132617) / 3 = 0.5720294;
    // member 1 drew only pair 1: 0.0485874. Mean 0.3103084.
    NDArray weights = manager.create(new float[] {2f, 0f, 1f, 1f}, new Shape(2, 2));
    BradleyTerryLoss.Output weighted = BradleyTerryLoss.compute(chosen, rejected, null, weights, 0);
    assertEquals(0.3103084, weighted.lossValue(), 1e-6);
    // Metrics are of the ensemble's mean reward: chosen (1.5, 1.5) vs rejected (1.0, 0.5).
    assertEquals(1.0, plain.accuracy());
    assertEquals(1.5, plain.chosen(), 1e-6);
    assertEquals(0.75, plain.rejected(), 1e-6);
    // Margins [B] apply to every member: margin 1 on pair 1 turns its loss for member 1 into −log σ(2).
    BradleyTerryLoss.Output margined = BradleyTerryLoss.compute(chosen, rejected,
        manager.create(new float[] {0f, 1f}), weights, 0);
    assertEquals((0.5720294 * 3 - 1.3132617 + Math.log1p(Math.exp(2))) / 3 / 2
        + Math.log1p(Math.exp(-2)) / 2, margined.lossValue(), 1e-6);
  }

  @Test
  void centringAddsLambdaTimesTheMeanSquaredRewardSum() {
    // 0.2014133 + 0.01 · (2.0 + 0.5)² = 0.2639133.
    BradleyTerryLoss.Output out = BradleyTerryLoss.compute(manager.create(new float[] {2.0f}),
        manager.create(new float[] {0.5f}), null, null, 0.01);
    assertEquals(0.2639133, out.lossValue(), 1e-6);
  }

  @Test
  void mismatchedShapesAreRefused() {
    NDArray two = manager.create(new float[] {1f, 2f});
    assertThrows(IllegalArgumentException.class,
        () -> BradleyTerryLoss.compute(two, manager.create(new float[] {1f}), null));
    assertThrows(IllegalArgumentException.class,
        () -> BradleyTerryLoss.compute(two, two, manager.create(new float[] {1f, 2f, 3f})));
  }
}

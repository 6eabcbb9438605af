package dev.troupe.algorithms.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RewardsTest {
  private final NDManager manager = NDManager.newBaseManager();

  @AfterEach
  void close() {
    manager.close();
  }

  @Test
  void klPenaltyAtEveryResponseTokenAndTheScoreAtEachRowsLastOne() {
    double beta = 0.1;
    NDArray scores = manager.create(new float[] {2.0f, -1.0f});
    NDArray logProbs = manager.create(new float[][] {{-1f, -2f, -3f}, {-0.5f, -0.7f, -9f}});
    NDArray refLogProbs = manager.create(new float[][] {{-1.5f, -1f, -3f}, {-0.4f, -1.0f, -2f}});
    NDArray mask = manager.create(new float[][] {{1, 1, 1}, {1, 1, 0}});

    Rewards.PerToken shaped = Rewards.perToken(scores, logProbs, refLogProbs, mask, beta);

    // log π − log π_ref per token: row 0 {0.5, −1, 0}, row 1 {−0.1, 0.3} (the padding's −7 must not count).
    double[] kl0 = {-1 - (-1.5), -2 - (-1), -3 - (-3)};
    double[] kl1 = {-0.5 - (-0.4), -0.7 - (-1.0)};
    float[] expected = {
        (float) (-beta * kl0[0]), (float) (-beta * kl0[1]), (float) (-beta * kl0[2] + 2.0),
        (float) (-beta * kl1[0]), (float) (-beta * kl1[1] - 1.0), 0f};
    assertArrayEquals(expected, shaped.rewards().toFloatArray(), 1e-6f);

    double sum0 = kl0[0] + kl0[1] + kl0[2];
    double sum1 = kl1[0] + kl1[1];
    assertArrayEquals(new float[] {(float) sum0, (float) sum1}, shaped.kl().toFloatArray(), 1e-6f);
    Metrics m = shaped.metrics();
    double meanKl = (sum0 + sum1) / 2;
    assertEquals(meanKl, m.get(MetricNames.OBJECTIVE_KL), 1e-6);
    assertEquals(beta, m.get(MetricNames.OBJECTIVE_KL_COEF), 0);
    assertEquals(0.5, m.get(MetricNames.OBJECTIVE_SCORES), 1e-6);
    assertEquals(-beta * meanKl, m.get(MetricNames.OBJECTIVE_NON_SCORE_REWARD), 1e-6);
    assertEquals(0.5 - beta * meanKl, m.get(MetricNames.OBJECTIVE_RLHF_REWARD), 1e-6);
  }

  @Test
  void theScoreGoesToTheLastMaskedInTokenWhereverTheResponseSits() {
    // Row 0: prompt, 2 response tokens, padding. Row 1: a hole in the middle (a masked tool output).
    NDArray mask = manager.create(new float[][] {{0, 1, 1, 0}, {1, 0, 1, 0}});
    NDArray zeros = manager.zeros(mask.getShape());
    Rewards.PerToken shaped = Rewards.perToken(manager.create(new float[] {5f, 7f}), zeros, zeros, mask, 0.2);
    assertArrayEquals(new float[] {0, 0, 5, 0, 0, 0, 7, 0}, shaped.rewards().toFloatArray(), 0f);
  }

  @Test
  void aRowWithoutResponseTokensIsRefused() {
    NDArray mask = manager.create(new float[][] {{1, 1}, {0, 0}});
    NDArray zeros = manager.zeros(mask.getShape());
    assertThrows(IllegalArgumentException.class,
        () -> Rewards.perToken(manager.create(new float[] {1f, 1f}), zeros, zeros, mask, 0.1));
  }
}

package dev.troupe.algorithms.grpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GrpoLossTest {
  private final NDManager manager = NDManager.newBaseManager();

  @AfterEach
  void close() {
    manager.close();
  }

  // ε = 0.2. Row 0: A = 1, 3 tokens. Row 1: A = −0.5, 2 tokens and a padding position holding garbage.
  private static final double[][] RATIO = {{1.5, 1.0, 0.9}, {0.7, 1.3, 0}};
  private static final double[][] REF_MINUS_LOGP = {{0.2, -0.1, 0.0}, {0.5, 0.0, 0}};
  private static final float[][] LOGP = {{-1f, -2f, -0.5f}, {-1.5f, -0.3f, -2f}};
  private static final float[][] MASK = {{1, 1, 1}, {1, 1, 0}};

  private NDArray shifted(double[][] logDelta, boolean exp, float garbage) {
    float[][] out = new float[2][3];
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < 3; t++) {
        double d = exp ? Math.log(RATIO[b][t]) : logDelta[b][t];
        out[b][t] = MASK[b][t] == 1 ? (float) (LOGP[b][t] + d) : garbage;
      }
    }
    return manager.create(out);
  }

  private static double k3(double d) {
    return Math.exp(d) - d - 1;
  }

  @Test
  void k3EstimatorIsExpMinusLinearMinusOne() {
    // Identical policies: 0. ref − logp = d: e^d − d − 1, ≥ 0 for every d.
    assertEquals(0.0, k3(0.0), 0);
    NDArray logp = manager.create(LOGP);
    NDArray ref = shifted(REF_MINUS_LOGP, false, 40f);
    NDArray zeroA = manager.zeros(new Shape(2));
    LossOutput out = GrpoLoss.loss(logp, logp, ref, zeroA, manager.create(MASK), 0.2, 1.0);
    // With A = 0 and β = 1 the loss is exactly the mean KL.
    double kl = ((k3(0.2) + k3(-0.1) + k3(0.0)) / 3 + (k3(0.5) + k3(0.0)) / 2) / 2;
    assertEquals(kl, out.metrics().get(MetricNames.KL), 1e-6);
    assertEquals(kl, out.loss().getFloat(), 1e-6);
  }

  @Test
  void lossIsTheClippedObjectiveMinusBetaKlAveragedPerSequenceThenOverSequences() {
    double beta = 0.1;
    NDArray oldLogp = manager.create(LOGP);
    NDArray logp = shifted(null, true, 60f); // log π = log π_old + log r; padding would give r = e^62
    // ref − log π = d, so ref = log π + d.
    float[][] ref = new float[2][3];
    float[] lp = logp.toFloatArray();
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < 3; t++) {
        ref[b][t] = (float) (lp[b * 3 + t] + REF_MINUS_LOGP[b][t]);
      }
    }
    NDArray advantages = manager.create(new float[] {1f, -0.5f});

    LossOutput out = GrpoLoss.loss(logp, oldLogp, manager.create(ref), advantages, manager.create(MASK), 0.2, beta);

    // min(r·A, clip(r, 0.8, 1.2)·A) per token
    double s00 = Math.min(1.5, 1.2);           // clipped
    double s01 = 1.0;
    double s02 = 0.9;                          // inside the range
    double s10 = Math.min(-0.35, -0.4);        // r = 0.7 < 0.8 with A < 0: clipped
    double s11 = Math.min(-0.65, -0.6);        // r = 1.3 > 1.2 with A < 0: not clipped
    double row0 = (s00 - beta * k3(0.2) + s01 - beta * k3(-0.1) + s02 - beta * k3(0.0)) / 3;
    double row1 = (s10 - beta * k3(0.5) + s11 - beta * k3(0.0)) / 2;
    double loss = -(row0 + row1) / 2;
    assertEquals(loss, out.loss().getFloat(), 1e-5);
    assertEquals(loss, out.metrics().get(MetricNames.LOSS), 1e-5);
    assertEquals(2.0 / 5, out.metrics().get(MetricNames.POLICY_CLIPFRAC), 1e-6);
    assertEquals(((k3(0.2) + k3(-0.1)) / 3 + k3(0.5) / 2) / 2, out.metrics().get(MetricNames.KL), 1e-5);
  }

  @Test
  void withoutKlPenaltyTheReferenceIsNotNeeded() {
    NDArray logp = manager.create(LOGP);
    NDArray advantages = manager.create(new float[] {2f, -1f});
    LossOutput out = GrpoLoss.loss(logp, logp, null, advantages, manager.create(MASK), 0.2, 0.0);
    // r = 1 everywhere: each sequence's mean objective is its advantage.
    assertEquals(-(2.0 + -1.0) / 2, out.loss().getFloat(), 1e-6);
    assertFalse(out.metrics().contains(MetricNames.KL));
    assertTrue(out.metrics().contains(MetricNames.POLICY_CLIPFRAC));
    assertThrows(IllegalArgumentException.class,
        () -> GrpoLoss.loss(logp, logp, null, advantages, manager.create(MASK), 0.2, 0.04));
  }
}

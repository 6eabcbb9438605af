package dev.troupe.algorithms.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.model.autograd.GradMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

@SuppressWarnings("try") // GradMode scopes are opened for their effect
class PpoLossTest {
  private final NDManager manager = NDManager.newBaseManager();

  @AfterEach
  void close() {
    manager.close();
  }

  // Policy case, ε = 0.2: ratios r and advantages A per token; row 1's last token is padding whose
  // log-ratio (50) would overflow exp to ∞ if it leaked.
  private static final double[][] R = {{1.5, 0.9, 0.5}, {1.1, 0.7, 0}};
  private static final double[][] A = {{1, -2, -1}, {-1, 2, 5}};
  private static final float[][] OLD = {{-1f, -2f, -0.5f}, {-1.5f, -0.3f, -2f}};
  private static final float[][] MASK = {{1, 1, 1}, {1, 1, 0}};

  private NDArray logProbs() {
    float[][] lp = new float[2][3];
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < 3; t++) {
        lp[b][t] = (float) (OLD[b][t] + (MASK[b][t] == 1 ? Math.log(R[b][t]) : 50));
      }
    }
    return manager.create(lp);
  }

  private NDArray advantages() {
    return manager.create(new float[][] {{1, -2, -1}, {-1, 2, 5}});
  }

  @Test
  void policyLossTakesThePessimisticTermAndCountsClippedTokens() {
    LossOutput out = PpoLoss.policy(logProbs(), manager.create(OLD), advantages(), manager.create(MASK), 0.2);

    // max(−A·r, −A·clip(r, 0.8, 1.2)) per response token:
    double t00 = Math.max(-1 * 1.5, -1 * 1.2);   // r above 1+ε with A > 0: clipped (−1.2)
    double t01 = Math.max(2 * 0.9, 2 * 0.9);      // inside the range (1.8)
    double t02 = Math.max(1 * 0.5, 1 * 0.8);      // r below 1−ε with A < 0: clipped (0.8)
    double t10 = Math.max(1 * 1.1, 1 * 1.1);      // inside (1.1)
    double t11 = Math.max(-2 * 0.7, -2 * 0.8);    // r below 1−ε with A > 0: not clipped (−1.4)
    double loss = (t00 + t01 + t02 + t10 + t11) / 5;
    assertEquals(0.22, loss, 1e-12);
    assertEquals(loss, out.loss().getFloat(), 1e-6);
    assertEquals(loss, out.metrics().get(MetricNames.LOSS_POLICY), 1e-6);
    assertEquals(2.0 / 5, out.metrics().get(MetricNames.POLICY_CLIPFRAC), 1e-6);
    double sq = 0;
    for (double r : new double[] {1.5, 0.9, 0.5, 1.1, 0.7}) {
      sq += Math.log(r) * Math.log(r);
    }
    assertEquals(0.5 * sq / 5, out.metrics().get(MetricNames.POLICY_APPROXKL), 1e-6);
    assertEquals((1.5 + 0.9 + 0.5 + 1.1 + 0.7) / 5, out.metrics().get(MetricNames.POLICY_RATIO), 1e-6);
  }

  @Test
  void clippedAndMaskedTokensGetNoGradient() {
    NDArray logProbs = logProbs();
    logProbs.setRequiresGradient(true);
    try (GradMode g = GradMode.enabled()) {
      GradMode.backward(PpoLoss.policy(logProbs, manager.create(OLD), advantages(), manager.create(MASK), 0.2).loss());
    }
    // d(−A·r)/d log π = −A·r, over 5 tokens; clipped tokens (0,0), (0,2) and padding get 0.
    float[] expected = {0f, (float) (2 * 0.9 / 5), 0f, (float) (1 * 1.1 / 5), (float) (-2 * 0.7 / 5), 0f};
    assertArrayEquals(expected, logProbs.getGradient().toFloatArray(), 1e-6f);
  }

  @Test
  void valueLossTakesTheLargerOfTheRawAndClippedErrors() {
    NDArray values = manager.create(new float[][] {{1.0f, 0.5f, 2.0f}, {0.0f, 3.0f, 99f}});
    NDArray oldValues = manager.create(new float[][] {{0.7f, 0.45f, 2.5f}, {0.1f, 3.0f, -99f}});
    NDArray returns = manager.create(new float[][] {{1.2f, 0.0f, 1.0f}, {0.5f, 2.0f, 0f}});

    LossOutput out = PpoLoss.value(values, oldValues, returns, manager.create(MASK), 0.2);

    // V_clip = V_old + clip(V − V_old, −0.2, 0.2); per token max((V − R)², (V_clip − R)²).
    double t00 = Math.max(sq(1.0 - 1.2), sq(0.9 - 1.2));   // moved +0.3, clipped to 0.9: 0.09 (clipped larger)
    double t01 = Math.max(sq(0.5 - 0.0), sq(0.5 - 0.0));   // moved +0.05: 0.25
    double t02 = Math.max(sq(2.0 - 1.0), sq(2.3 - 1.0));   // moved −0.5, clipped to 2.3: 1.69 (clipped larger)
    double t10 = Math.max(sq(0.0 - 0.5), sq(0.0 - 0.5));   // moved −0.1: 0.25
    double t11 = Math.max(sq(3.0 - 2.0), sq(3.0 - 2.0));   // unmoved: 1
    double loss = 0.5 * (t00 + t01 + t02 + t10 + t11) / 5;
    assertEquals(0.328, loss, 1e-12);
    assertEquals(loss, out.loss().getFloat(), 1e-6);
    assertEquals(2.0 / 5, out.metrics().get(MetricNames.VALUE_CLIPFRAC), 1e-6);

    double[] r = {1.2, 0.0, 1.0, 0.5, 2.0};
    double[] v = {1.0, 0.5, 2.0, 0.0, 3.0};
    double[] residual = new double[5];
    for (int i = 0; i < 5; i++) {
      residual[i] = r[i] - v[i];
    }
    double explained = 1 - variance(residual) / variance(r);
    assertEquals(explained, out.metrics().get(MetricNames.VALUE_EXPLAINED_VARIANCE), 1e-5);
    assertEquals(explained, PpoLoss.explainedVariance(values, returns, manager.create(MASK)), 1e-5);
  }

  @Test
  void perfectValuesExplainAllTheVariance() {
    NDArray returns = manager.create(new float[][] {{1, 2, 3}, {4, 5, 6}});
    assertEquals(1.0, PpoLoss.explainedVariance(returns, returns, manager.create(MASK)), 1e-6);
  }

  @Test
  void entropyOfAUniformDistributionIsLnV() {
    NDArray logits = manager.full(new Shape(2, 3, 7), 0.3f);
    LossOutput out = PpoLoss.entropy(logits, manager.create(MASK));
    assertEquals(Math.log(7), out.metrics().get(MetricNames.POLICY_ENTROPY), 1e-6);
    assertEquals(-Math.log(7), out.loss().getFloat(), 1e-6);
  }

  @Test
  void entropyIsTheMaskedMeanOverTokens() {
    // Position 0 uniform over 4, position 1 p = {0.1, 0.2, 0.3, 0.4}, position 2 padding.
    float[] logits = {1, 1, 1, 1,
        (float) Math.log(0.1), (float) Math.log(0.2), (float) Math.log(0.3), (float) Math.log(0.4),
        100, -100, 0, 0};
    NDArray mask = manager.create(new float[][] {{1, 1, 0}});
    double h1 = -(0.1 * Math.log(0.1) + 0.2 * Math.log(0.2) + 0.3 * Math.log(0.3) + 0.4 * Math.log(0.4));
    LossOutput out = PpoLoss.entropy(manager.create(logits, new Shape(1, 3, 4)), mask);
    assertEquals((Math.log(4) + h1) / 2, out.metrics().get(MetricNames.POLICY_ENTROPY), 1e-6);
  }

  @Test
  void totalWeighsTheValueAndEntropyTermsByTheConfig() {
    PpoConfig config = new PpoConfig(1, 0.95, 0.2, 0.2, 0.5, 0.01, true, false, 0.05, null, 4, 1);
    NDArray mask = manager.create(MASK);
    LossOutput policy = PpoLoss.policy(logProbs(), manager.create(OLD), advantages(), mask, 0.2);
    NDArray values = manager.create(new float[][] {{1.0f, 0.5f, 2.0f}, {0.0f, 3.0f, 99f}});
    LossOutput value = PpoLoss.value(values, values, manager.zeros(values.getShape()), mask, 0.2);
    LossOutput entropy = PpoLoss.entropy(manager.zeros(new Shape(2, 3, 4)), mask);

    LossOutput total = PpoLoss.total(policy, value, entropy, config);

    // value: 0.5 · mean V² over the 5 tokens = 0.5 · (1 + 0.25 + 4 + 0 + 9) / 5; entropy loss −ln 4.
    double expected = 0.22 + 0.5 * (0.5 * 14.25 / 5) + 0.01 * -Math.log(4);
    assertEquals(expected, total.loss().getFloat(), 1e-6);
    assertEquals(expected, total.metrics().get(MetricNames.LOSS_TOTAL), 1e-6);
    assertEquals(0.22, total.metrics().get(MetricNames.LOSS_POLICY), 1e-6);
    assertEquals(Math.log(4), total.metrics().get(MetricNames.POLICY_ENTROPY), 1e-6);
  }

  private static double sq(double x) {
    return x * x;
  }

  private static double variance(double[] x) {
    double mean = 0;
    for (double v : x) {
      mean += v / x.length;
    }
    double s = 0;
    for (double v : x) {
      s += (v - mean) * (v - mean);
    }
    return s / x.length;
  }
}

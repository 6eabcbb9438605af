package dev.troupe.algorithms.dpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.model.autograd.GradMode;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

@SuppressWarnings("try") // GradMode scopes are opened for their effect
class DpoLossTest {
  private final NDManager manager = NDManager.newBaseManager();

  @AfterEach
  void close() {
    manager.close();
  }

  // Two pairs: the policy prefers the chosen response more than the reference in pair 0, less in pair 1.
  private static final double[] PC = {-5, -8};
  private static final double[] PR = {-7, -6.5};
  private static final double[] RC = {-6, -7.2};
  private static final double[] RR = {-6.5, -6.1};

  private NDArray vec(double[] x) {
    return manager.create(new float[] {(float) x[0], (float) x[1]});
  }

  private LossOutput compute(DpoConfig config) {
    return DpoLoss.compute(vec(PC), vec(PR), vec(RC), vec(RR), config);
  }

  private static double h(int i) {
    return (PC[i] - PR[i]) - (RC[i] - RR[i]);
  }

  private static double logSigmoid(double x) {
    return -Math.log(1 + Math.exp(-x));
  }

  @Test
  void sigmoidLossIsMinusLogSigmoidOfBetaTimesTheMargin() {
    double beta = 0.1;
    assertEquals(1.5, h(0), 1e-12);
    assertEquals(-0.4, h(1), 1e-12);
    double expected = (-logSigmoid(beta * h(0)) - logSigmoid(beta * h(1))) / 2;
    LossOutput out = compute(DpoConfig.defaults());
    assertEquals(expected, out.loss().getFloat(), 1e-6);
    assertEquals(expected, out.metrics().get(MetricNames.LOSS), 1e-6);
  }

  @Test
  void reportsTrlsRewardMetrics() {
    double beta = 0.5;
    Metrics m = compute(new DpoConfig(beta, DpoConfig.LossType.SIGMOID, 0)).metrics();
    double[] chosen = {beta * (PC[0] - RC[0]), beta * (PC[1] - RC[1])};    // 0.5, −0.4
    double[] rejected = {beta * (PR[0] - RR[0]), beta * (PR[1] - RR[1])};  // −0.25, −0.2
    assertEquals((chosen[0] + chosen[1]) / 2, m.get(MetricNames.REWARDS_CHOSEN), 1e-6);
    assertEquals((rejected[0] + rejected[1]) / 2, m.get(MetricNames.REWARDS_REJECTED), 1e-6);
    assertEquals(0.5, m.get(MetricNames.REWARDS_ACCURACIES), 0); // pair 0 right, pair 1 wrong
    assertEquals((chosen[0] - rejected[0] + chosen[1] - rejected[1]) / 2, m.get(MetricNames.REWARDS_MARGINS), 1e-6);
    assertEquals((PC[0] + PC[1]) / 2, m.get(MetricNames.LOGPS_CHOSEN), 1e-6);
    assertEquals((PR[0] + PR[1]) / 2, m.get(MetricNames.LOGPS_REJECTED), 1e-6);
    assertEquals(List.of("rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
        "logps/chosen", "logps/rejected", "nll_loss", "loss"), List.copyOf(m.asMap().keySet()));
  }

  @Test
  void ipoLossIsTheSquaredDistanceOfTheMarginFromOneOverTwoBeta() {
    double beta = 0.1; // target margin 1/(2β) = 5
    double expected = (Math.pow(h(0) - 5, 2) + Math.pow(h(1) - 5, 2)) / 2;
    assertEquals(20.705, expected, 1e-9);
    assertEquals(expected, compute(DpoConfig.ipo(beta)).loss().getFloat(), 1e-4);
  }

  @Test
  void conservativeDpoMixesBothLabelDirections() {
    double beta = 0.1;
    double eps = 0.1;
    double expected = 0;
    for (int i = 0; i < 2; i++) {
      expected += (-(1 - eps) * logSigmoid(beta * h(i)) - eps * logSigmoid(-beta * h(i))) / 2;
    }
    assertEquals(expected, compute(DpoConfig.cdpo(beta, eps)).loss().getFloat(), 1e-6);
  }

  @Test
  void raisingTheChosenLogProbLowersTheLossAndRaisingTheRejectedOneRaisesIt() {
    double beta = 0.1;
    NDArray chosen = vec(PC);
    NDArray rejected = vec(PR);
    chosen.setRequiresGradient(true);
    rejected.setRequiresGradient(true);
    try (GradMode g = GradMode.enabled()) {
      GradMode.backward(DpoLoss.compute(chosen, rejected, vec(RC), vec(RR), DpoConfig.defaults()).loss());
    }
    float[] dChosen = chosen.getGradient().toFloatArray();
    float[] dRejected = rejected.getGradient().toFloatArray();
    for (int i = 0; i < 2; i++) {
      // d/dπ_w of −log σ(β·h) / B = −β·σ(−β·h) / B, and the opposite for π_l.
      double expected = -beta * (1 / (1 + Math.exp(beta * h(i)))) / 2;
      assertTrue(dChosen[i] < 0, "chosen gradient " + dChosen[i]);
      assertEquals(expected, dChosen[i], 1e-7);
      assertEquals(-expected, dRejected[i], 1e-7);
    }
  }

  @Test
  void ipoStopsPushingOnceTheMarginPassesItsTarget() {
    // β = 0.5: target margin 1. Pair 0's margin 1.5 is past it, pair 1's −0.4 short of it.
    NDArray chosen = vec(PC);
    chosen.setRequiresGradient(true);
    try (GradMode g = GradMode.enabled()) {
      GradMode.backward(DpoLoss.compute(chosen, vec(PR), vec(RC), vec(RR), DpoConfig.ipo(0.5)).loss());
    }
    float[] d = chosen.getGradient().toFloatArray();
    assertEquals(2 * (1.5 - 1) / 2, d[0], 1e-6); // positive: the loss wants pair 0's margin smaller
    assertEquals(2 * (-0.4 - 1) / 2, d[1], 1e-6);
  }

  // Token counts of the two pairs' responses: chosen 4 and 8, rejected 5 and 2.
  private static final double[] LC = {4, 8};
  private static final double[] LR = {5, 2};

  @Test
  void rpoAddsAlphaTimesTheChosenResponsesPerTokenNegativeLogLikelihood() {
    double beta = 0.1;
    double alpha = 0.5;
    double dpo = (-logSigmoid(beta * h(0)) - logSigmoid(beta * h(1))) / 2;
    double nll = (-PC[0] / LC[0] - PC[1] / LC[1]) / 2; // (1.25 + 1) / 2
    assertEquals(1.125, nll, 1e-12);
    NDArray chosen = vec(PC);
    chosen.setRequiresGradient(true);
    LossOutput out;
    try (GradMode g = GradMode.enabled()) {
      out = DpoLoss.compute(chosen, vec(PR), vec(RC), vec(RR), vec(LC), vec(LR),
          DpoConfig.defaults().withRpoAlpha(alpha));
      GradMode.backward(out.loss());
    }
    assertEquals(dpo + alpha * nll, out.loss().getFloat(), 1e-6);
    assertEquals(nll, out.metrics().get(MetricNames.NLL_LOSS), 1e-6);
    float[] d = chosen.getGradient().toFloatArray();
    for (int i = 0; i < 2; i++) {
      // DPO's pull on the chosen log-prob, and α / (B·|y_w|) more: the term never lets the chosen answer fall for free.
      double expected = -beta * (1 / (1 + Math.exp(beta * h(i)))) / 2 - alpha / (2 * LC[i]);
      assertEquals(expected, d[i], 1e-7);
    }
  }

  @Test
  void withoutRpoTheLengthsChangeNothingAndTheNllIsOnlyReported() {
    LossOutput plain = compute(DpoConfig.defaults());
    LossOutput withLengths = DpoLoss.compute(vec(PC), vec(PR), vec(RC), vec(RR), vec(LC), vec(LR),
        DpoConfig.defaults());
    assertEquals(plain.loss().getFloat(), withLengths.loss().getFloat(), 0);
    assertEquals(1.125, withLengths.metrics().get(MetricNames.NLL_LOSS), 1e-6);
  }

  @Test
  void lengthNormalizedDpoTakesTheMarginOnPerTokenLogRatios() {
    double beta = 2;
    double[] margin = new double[2];
    double expected = 0;
    for (int i = 0; i < 2; i++) {
      margin[i] = (PC[i] - RC[i]) / LC[i] - (PR[i] - RR[i]) / LR[i]; // 0.25 + 0.1, −0.1 + 0.2
      expected += -logSigmoid(beta * margin[i]) / 2;
    }
    assertEquals(0.35, margin[0], 1e-12);
    assertEquals(0.1, margin[1], 1e-12); // on sums the margin is −0.4: per token the pair turns around
    LossOutput out = DpoLoss.compute(vec(PC), vec(PR), vec(RC), vec(RR), vec(LC), vec(LR),
        new DpoConfig(beta, DpoConfig.LossType.SIGMOID, 0).withLengthNormalized(true));
    assertEquals(expected, out.loss().getFloat(), 1e-6);
    assertEquals(beta * (margin[0] + margin[1]) / 2, out.metrics().get(MetricNames.REWARDS_MARGINS), 1e-6);
  }

  @Test
  void ipoOnSummedLogProbsAndLengthsEqualsIpoOnPerTokenMeans() {
    double[] pc = {PC[0] / LC[0], PC[1] / LC[1]};
    double[] pr = {PR[0] / LR[0], PR[1] / LR[1]};
    double[] rc = {RC[0] / LC[0], RC[1] / LC[1]};
    double[] rr = {RR[0] / LR[0], RR[1] / LR[1]};
    float onMeans = DpoLoss.compute(vec(pc), vec(pr), vec(rc), vec(rr), DpoConfig.ipo(0.5)).loss().getFloat();
    float onSums = DpoLoss.compute(vec(PC), vec(PR), vec(RC), vec(RR), vec(LC), vec(LR), DpoConfig.ipo(0.5)).loss()
        .getFloat();
    assertEquals(onMeans, onSums, 1e-6);
  }

  @Test
  void configRejectsLabelSmoothingOutsideConservativeDpoAndANonPositiveBeta() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new DpoConfig(0.1, DpoConfig.LossType.SIGMOID, 0.1));
    assertTrue(e.getMessage().startsWith("labelSmoothing"), e.getMessage());
    assertTrue(assertThrows(IllegalArgumentException.class, () -> DpoConfig.cdpo(0.1, 0.5)).getMessage()
        .startsWith("labelSmoothing"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> DpoConfig.ipo(0)).getMessage().startsWith("beta"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> DpoConfig.defaults().withRpoAlpha(-1)).getMessage()
        .startsWith("rpoAlpha"));
  }

  @Test
  void sequenceLogpsSumAndAverageOnlyTheMaskedInTokens() {
    NDArray tokens = manager.create(new float[][] {{-1, -2, -3}, {-0.5f, -1.5f, Float.NEGATIVE_INFINITY}});
    NDArray mask = manager.create(new float[][] {{1, 1, 1}, {1, 1, 0}});
    float[] sum = SequenceLogps.sum(tokens, mask).toFloatArray();
    float[] mean = SequenceLogps.mean(tokens, mask).toFloatArray();
    assertEquals(-6, sum[0], 1e-6);
    assertEquals(-2, sum[1], 1e-6);
    assertEquals(-2, mean[0], 1e-6);
    assertEquals(-1, mean[1], 1e-6);
  }
}

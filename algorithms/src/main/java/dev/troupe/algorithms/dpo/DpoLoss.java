package dev.troupe.algorithms.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.autograd.Ops;

/** The preference losses of DPO, IPO and conservative DPO over a batch of (chosen, rejected) pairs. */
@SuppressWarnings("try") // GradMode scopes are opened for their effect
public final class DpoLoss {
  private DpoLoss() {}

  /**
   * The batch mean of a loss on the margin of log-ratios, plus RPO's likelihood term when α > 0:
   * <pre>
   *   h = (log π(y_w) − log π(y_l)) − (log π_ref(y_w) − log π_ref(y_l))
   *
   *   SIGMOID  −log σ(β·h)                            Rafailov et al. 2023, "Direct Preference Optimization", eq. 7
   *   CDPO     −(1 − ε)·log σ(β·h) − ε·log σ(−β·h)    Mitchell 2023, "A note on DPO with noisy preferences"
   *   IPO      (h − 1/(2β))²                          Azar et al. 2023, "A General Theoretical Paradigm to
   *                                                   Understand Learning from Human Preferences", eq. 17
   *   + α · (−log π(y_w) / |y_w|)                     RPO: Pang et al. 2024, "Iterative Reasoning Preference
   *                                                   Optimization", eq. 1 (TRL's rpo_alpha)
   * </pre>
   * The inputs are summed sequence log-probs, [B] each, from {@link SequenceLogps#sum}, and each
   * response's token count. Where {@link DpoConfig#perTokenLogRatios()} (IPO, as TRL does, so that the
   * target margin 1/(2β) does not depend on the responses' lengths; or on request) every log-prob is
   * divided by its response's length before h is taken. Plain DPO on sums lets a pair's longer
   * response carry more of the margin; Meng et al. 2024 (SimPO) and Park et al. 2024 ("Disentangling
   * length from quality") normalise for that reason. The likelihood term keeps the chosen responses
   * likely: without it DPO can raise the margin by lowering both responses' likelihood, which moves
   * probability to responses neither of them is (Pal et al. 2024, "Smaug"; Razin et al. 2024).
   *
   * <p>Metrics, TRL's names and definitions, with implicit rewards ρ = β·(log π − log π_ref) of the
   * log-probs the margin is taken on: rewards/chosen and rewards/rejected, the mean ρ;
   * rewards/accuracies, the fraction of pairs with ρ_w > ρ_l; rewards/margins, the mean ρ_w − ρ_l;
   * logps/chosen and logps/rejected, the mean summed policy log-probs; nll_loss, the mean per-token
   * negative log-likelihood of the chosen responses; loss, with the α term.
   *
   * @param chosenLengths [B] the number of tokens each chosen log-prob sums (≥ 1)
   * @param rejectedLengths [B] the same for the rejected responses
   * @return the loss in policyChosenLogps' manager, differentiable through the policy log-probs
   */
  public static LossOutput compute(NDArray policyChosenLogps, NDArray policyRejectedLogps, NDArray refChosenLogps,
      NDArray refRejectedLogps, NDArray chosenLengths, NDArray rejectedLengths, DpoConfig config) {
    Shape shape = policyChosenLogps.getShape();
    if (shape.dimension() != 1 || !policyRejectedLogps.getShape().equals(shape)
        || !refChosenLogps.getShape().equals(shape) || !refRejectedLogps.getShape().equals(shape)
        || !chosenLengths.getShape().equals(shape) || !rejectedLengths.getShape().equals(shape)) {
      throw new IllegalArgumentException("need six [B] vectors, got policy chosen " + shape + ", rejected "
          + policyRejectedLogps.getShape() + ", reference chosen " + refChosenLogps.getShape() + ", rejected "
          + refRejectedLogps.getShape() + ", chosen lengths " + chosenLengths.getShape() + ", rejected lengths "
          + rejectedLengths.getShape());
    }
    float beta = (float) config.beta();
    NDArray chosenTokens = Ops.maximum(chosenLengths.toType(DataType.FLOAT32, false), 1);
    NDArray rejectedTokens = Ops.maximum(rejectedLengths.toType(DataType.FLOAT32, false), 1);
    NDArray pc = policyChosenLogps;
    NDArray pr = policyRejectedLogps;
    NDArray rc = refChosenLogps;
    NDArray rr = refRejectedLogps;
    if (config.perTokenLogRatios()) {
      pc = pc.div(chosenTokens);
      pr = pr.div(rejectedTokens);
      rc = rc.div(chosenTokens);
      rr = rr.div(rejectedTokens);
    }
    NDArray h = pc.sub(pr).sub(rc.sub(rr));
    // −log σ(x) = softplus(−x), computed without overflow for large |x|.
    NDArray losses = switch (config.lossType()) {
      case SIGMOID -> softPlus(Ops.mul(h, -beta));
      case CDPO -> Ops.mul(softPlus(Ops.mul(h, -beta)), (float) (1 - config.labelSmoothing()))
          .add(Ops.mul(softPlus(Ops.mul(h, beta)), (float) config.labelSmoothing()));
      case IPO -> h.sub(1f / (2 * beta)).square();
    };
    NDArray nll = policyChosenLogps.div(chosenTokens).neg().mean();
    NDArray loss = config.rpoAlpha() > 0 ? losses.mean().add(Ops.mul(nll, (float) config.rpoAlpha())) : losses.mean();
    try (GradMode ignored = GradMode.disabled()) {
      NDArray chosenRewards = Ops.mul(pc.sub(rc), beta);
      NDArray rejectedRewards = Ops.mul(pr.sub(rr), beta);
      Metrics metrics = new Metrics()
          .put(MetricNames.REWARDS_CHOSEN, chosenRewards.mean().getFloat())
          .put(MetricNames.REWARDS_REJECTED, rejectedRewards.mean().getFloat())
          .put(MetricNames.REWARDS_ACCURACIES, fraction(chosenRewards.gt(rejectedRewards)))
          .put(MetricNames.REWARDS_MARGINS, chosenRewards.sub(rejectedRewards).mean().getFloat())
          .put(MetricNames.LOGPS_CHOSEN, policyChosenLogps.mean().getFloat())
          .put(MetricNames.LOGPS_REJECTED, policyRejectedLogps.mean().getFloat())
          .put(MetricNames.NLL_LOSS, nll.getFloat())
          .put(MetricNames.LOSS, loss.getFloat());
      return new LossOutput(loss, metrics);
    }
  }

  /**
   * {@link #compute(NDArray, NDArray, NDArray, NDArray, NDArray, NDArray, DpoConfig)} on log-probs
   * already in the form the loss reads (sums, or per-token means for IPO): every length is taken as 1.
   */
  public static LossOutput compute(NDArray policyChosenLogps, NDArray policyRejectedLogps, NDArray refChosenLogps,
      NDArray refRejectedLogps, DpoConfig config) {
    NDArray ones = policyChosenLogps.onesLike();
    return compute(policyChosenLogps, policyRejectedLogps, refChosenLogps, refRejectedLogps, ones, ones, config);
  }

  private static double fraction(NDArray booleans) {
    return booleans.toType(DataType.FLOAT32, false).mean().getFloat();
  }

  private static NDArray softPlus(NDArray x) {
    return Activation.softPlus(x); // torch.nn.functional.softplus: log(1 + eˣ), linear above 20
  }
}

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
   * The batch mean of a loss on the margin of log-ratios
   * <pre>
   *   h = (log π(y_w) − log π(y_l)) − (log π_ref(y_w) − log π_ref(y_l))
   *
   *   SIGMOID  −log σ(β·h)                            Rafailov et al. 2023, "Direct Preference Optimization", eq. 7
   *   CDPO     −(1 − ε)·log σ(β·h) − ε·log σ(−β·h)    Mitchell 2023, "A note on DPO with noisy preferences"
   *   IPO      (h − 1/(2β))²                          Azar et al. 2023, "A General Theoretical Paradigm to
   *                                                   Understand Learning from Human Preferences", eq. 17
   * </pre>
   * The inputs are sequence log-probs, [B] each, from {@link SequenceLogps}: sums for SIGMOID and
   * CDPO; for IPO pass per-token means ({@link SequenceLogps#mean}), as TRL does for IPO, so that
   * the target margin 1/(2β) does not depend on the responses' lengths.
   *
   * <p>Metrics, TRL's names and definitions, with implicit rewards ρ = β·(log π − log π_ref):
   * rewards/chosen and rewards/rejected, the mean ρ; rewards/accuracies, the fraction of pairs with
   * ρ_w > ρ_l; rewards/margins, the mean ρ_w − ρ_l; logps/chosen and logps/rejected, the mean
   * policy log-probs as passed in; loss.
   *
   * @return the loss in policyChosenLogps' manager, differentiable through the policy log-probs
   */
  public static LossOutput compute(NDArray policyChosenLogps, NDArray policyRejectedLogps, NDArray refChosenLogps,
      NDArray refRejectedLogps, DpoConfig config) {
    Shape shape = policyChosenLogps.getShape();
    if (shape.dimension() != 1 || !policyRejectedLogps.getShape().equals(shape)
        || !refChosenLogps.getShape().equals(shape) || !refRejectedLogps.getShape().equals(shape)) {
      throw new IllegalArgumentException("need four [B] log-prob vectors, got policy chosen " + shape + ", rejected "
          + policyRejectedLogps.getShape() + ", reference chosen " + refChosenLogps.getShape() + ", rejected "
          + refRejectedLogps.getShape());
    }
    float beta = (float) config.beta();
    NDArray h = policyChosenLogps.sub(policyRejectedLogps).sub(refChosenLogps.sub(refRejectedLogps));
    // −log σ(x) = softplus(−x), computed without overflow for large |x|.
    NDArray losses = switch (config.lossType()) {
      case SIGMOID -> softPlus(Ops.mul(h, -beta));
      case CDPO -> Ops.mul(softPlus(Ops.mul(h, -beta)), (float) (1 - config.labelSmoothing()))
          .add(Ops.mul(softPlus(Ops.mul(h, beta)), (float) config.labelSmoothing()));
      case IPO -> h.sub(1f / (2 * beta)).square();
    };
    NDArray loss = losses.mean();
    try (GradMode ignored = GradMode.disabled()) {
      NDArray chosenRewards = Ops.mul(policyChosenLogps.sub(refChosenLogps), beta);
      NDArray rejectedRewards = Ops.mul(policyRejectedLogps.sub(refRejectedLogps), beta);
      Metrics metrics = new Metrics()
          .put(MetricNames.REWARDS_CHOSEN, chosenRewards.mean().getFloat())
          .put(MetricNames.REWARDS_REJECTED, rejectedRewards.mean().getFloat())
          .put(MetricNames.REWARDS_ACCURACIES, fraction(chosenRewards.gt(rejectedRewards)))
          .put(MetricNames.REWARDS_MARGINS, chosenRewards.sub(rejectedRewards).mean().getFloat())
          .put(MetricNames.LOGPS_CHOSEN, policyChosenLogps.mean().getFloat())
          .put(MetricNames.LOGPS_REJECTED, policyRejectedLogps.mean().getFloat())
          .put(MetricNames.LOSS, loss.getFloat());
      return new LossOutput(loss, metrics);
    }
  }

  private static double fraction(NDArray booleans) {
    return booleans.toType(DataType.FLOAT32, false).mean().getFloat();
  }

  private static NDArray softPlus(NDArray x) {
    return Activation.softPlus(x); // torch.nn.functional.softplus: log(1 + eˣ), linear above 20
  }
}

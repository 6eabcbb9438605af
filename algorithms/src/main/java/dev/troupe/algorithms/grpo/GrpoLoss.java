package dev.troupe.algorithms.grpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.ppo.Masked;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.autograd.Ops;

/** GRPO's clipped objective with a per-token KL penalty to the reference policy, as a loss. */
@SuppressWarnings("try") // GradMode scopes are opened for their effect
public final class GrpoLoss {
  private GrpoLoss() {}

  /**
   * The GRPO objective of Shao et al. 2024 ("DeepSeekMath", eq. 3), negated to be minimised:
   * <pre>
   *   r_t  = exp(log π(o_t) − log π_old(o_t))
   *   KL_t = exp(log π_ref(o_t) − log π(o_t)) − (log π_ref(o_t) − log π(o_t)) − 1
   *   L    = −(1/G) Σ_i (1/|o_i|) Σ_t [ min(r_t·A_i, clip(r_t, 1 − ε, 1 + ε)·A_i) − β·KL_t ]
   * </pre>
   * KL_t is Schulman's k3 estimator ("Approximating KL Divergence", 2020): unbiased for
   * KL(π‖π_ref) on tokens sampled from π, and never negative. Each sequence's tokens are averaged
   * first, then the sequences, as in the paper (and TRL's original GRPOTrainer): every response
   * weighs the same whatever its length. That normalisation favours long wrong answers over short
   * ones (Liu et al. 2025, Dr. GRPO); TRL now defaults to a token-level mean. A row with no
   * response token contributes 0 and still counts in the 1/G.
   *
   * <p>Metrics: loss; kl, the mean over sequences of their per-token mean KL_t (absent when β is
   * 0); policy/clipfrac, the fraction of response tokens whose ratio was clipped.
   *
   * @param logProbs [B, T] under the policy being trained (with gradient)
   * @param oldLogProbs [B, T] under the policy that sampled (= logProbs detached with one iteration)
   * @param refLogProbs [B, T] under the reference policy; may be null when {@code beta} is 0
   * @param advantages [B] one per response ({@link GroupAdvantages}), applied to all its tokens
   * @param mask [B, T] 1 at response tokens
   */
  public static LossOutput loss(NDArray logProbs, NDArray oldLogProbs, NDArray refLogProbs, NDArray advantages,
      NDArray mask, double clipRange, double beta) {
    Masked.requireSameShape("logProbs", logProbs, mask);
    Masked.requireSameShape("oldLogProbs", oldLogProbs, mask);
    if (beta != 0) {
      if (refLogProbs == null) {
        throw new IllegalArgumentException("refLogProbs is needed for the KL penalty when beta is " + beta);
      }
      Masked.requireSameShape("refLogProbs", refLogProbs, mask);
    }
    if (!advantages.getShape().equals(new Shape(mask.getShape().get(0)))) {
      throw new IllegalArgumentException("advantages has shape " + advantages.getShape() + ", expected ["
          + mask.getShape().get(0) + "]");
    }
    NDArray m = Masked.asFloat(mask);
    NDArray ratio = Masked.zeroed(logProbs.sub(oldLogProbs), m).exp();
    NDArray a = advantages.toType(DataType.FLOAT32, false).expandDims(1);
    NDArray unclipped = ratio.mul(a);
    NDArray clipped = ratio.clip(1 - clipRange, 1 + clipRange).mul(a);
    NDArray objective = unclipped.minimum(clipped);
    NDArray klPerToken = null;
    if (beta != 0) {
      NDArray d = Masked.zeroed(refLogProbs.sub(logProbs), m);
      klPerToken = d.exp().sub(d).sub(1f);
      objective = objective.sub(Ops.mul(klPerToken, (float) beta));
    }
    NDArray tokens = Ops.maximum(m.sum(new int[] {1}), 1);
    NDArray loss = perSequenceMean(objective, m, tokens).mean().neg();
    try (GradMode ignored = GradMode.disabled()) {
      Metrics metrics = new Metrics().put(MetricNames.LOSS, loss.getFloat());
      if (klPerToken != null) {
        metrics.put(MetricNames.KL, perSequenceMean(klPerToken, m, tokens).mean().getFloat());
      }
      NDArray wasClipped = clipped.lt(unclipped).toType(DataType.FLOAT32, false);
      metrics.put(MetricNames.POLICY_CLIPFRAC, Masked.mean(wasClipped, m).getFloat());
      return new LossOutput(loss, metrics);
    }
  }

  /** [B]: Σ_t x·m / (number of response tokens, at least 1) per row. */
  private static NDArray perSequenceMean(NDArray x, NDArray m, NDArray tokens) {
    return Masked.zeroed(x, m).sum(new int[] {1}).div(tokens);
  }
}

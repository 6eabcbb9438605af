package dev.troupe.algorithms.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.autograd.Ops;

/**
 * PPO's three losses over the response tokens of a minibatch, [B, T] tensors with a [B, T] mask
 * (1 = response token), each a masked mean over all of the minibatch's response tokens as in TRL.
 * Results belong to the first argument's manager; metrics are read without recording a graph.
 */
@SuppressWarnings("try") // GradMode scopes are opened for their effect
public final class PpoLoss {
  private PpoLoss() {}

  /**
   * The clipped surrogate of Schulman et al. 2017 ("Proximal Policy Optimization Algorithms",
   * eq. 7), negated to be minimised:
   * <pre>
   *   r_t = exp(log π(y_t) − log π_old(y_t))
   *   L   = mean_t max(−A_t·r_t, −A_t·clip(r_t, 1 − ε, 1 + ε))
   * </pre>
   * Metrics: loss/policy; policy/clipfrac, the fraction of tokens where the clipped term is the
   * larger (they get no gradient); policy/approxkl = 0.5·mean (log r_t)², TRL's estimate of
   * KL(π_old‖π) (the low-variance (r − 1) − log r is not used, to match TRL's numbers);
   * policy/ratio, the mean r_t.
   *
   * @param logProbs [B, T] under the policy being trained (with gradient)
   * @param oldLogProbs [B, T] under the policy that sampled the rollout
   * @param advantages [B, T] (whitened or not, see {@link PpoConfig#whitenAdvantages})
   */
  public static LossOutput policy(NDArray logProbs, NDArray oldLogProbs, NDArray advantages, NDArray mask,
      double clipRange) {
    Masked.requireSameShape("logProbs", logProbs, mask);
    Masked.requireSameShape("oldLogProbs", oldLogProbs, mask);
    Masked.requireSameShape("advantages", advantages, mask);
    NDArray logRatio = Masked.zeroed(logProbs.sub(oldLogProbs), mask);
    NDArray ratio = logRatio.exp();
    NDArray a = Masked.zeroed(advantages, mask);
    NDArray unclipped = a.neg().mul(ratio);
    NDArray clipped = a.neg().mul(ratio.clip(1 - clipRange, 1 + clipRange));
    NDArray loss = Masked.mean(unclipped.maximum(clipped), mask);
    try (GradMode ignored = GradMode.disabled()) {
      Metrics metrics = new Metrics()
          .put(MetricNames.LOSS_POLICY, loss.getFloat())
          .put(MetricNames.POLICY_CLIPFRAC, fraction(clipped.gt(unclipped), mask))
          .put(MetricNames.POLICY_APPROXKL, 0.5 * Masked.mean(logRatio.square(), mask).getFloat())
          .put(MetricNames.POLICY_RATIO, Masked.mean(ratio, mask).getFloat());
      return new LossOutput(loss, metrics);
    }
  }

  /**
   * The clipped value loss of PPO2 (OpenAI baselines; Ziegler et al. 2019's and TRL's PPO):
   * <pre>
   *   L = 0.5 · mean_t max((V_t − R_t)², (V_old,t + clip(V_t − V_old,t, −ε, ε) − R_t)²)
   * </pre>
   * so the value head cannot move further than ε from the rollout's values in one batch.
   * Metrics: loss/value; value/clipfrac, the fraction of tokens where the clipped term is the
   * larger; val/var_explained of {@code values} for {@code returns}.
   *
   * @param values [B, T] predicted now (with gradient)
   * @param oldValues [B, T] predicted at rollout time
   * @param returns [B, T] GAE returns ({@link Gae.Estimate#returns()})
   */
  public static LossOutput value(NDArray values, NDArray oldValues, NDArray returns, NDArray mask,
      double clipRangeValue) {
    Masked.requireSameShape("values", values, mask);
    Masked.requireSameShape("oldValues", oldValues, mask);
    Masked.requireSameShape("returns", returns, mask);
    NDArray v = Masked.zeroed(values, mask);
    NDArray old = Masked.zeroed(oldValues, mask);
    NDArray r = Masked.zeroed(returns, mask);
    NDArray vClipped = v.sub(old).clip(-clipRangeValue, clipRangeValue).add(old);
    NDArray unclipped = v.sub(r).square();
    NDArray clipped = vClipped.sub(r).square();
    NDArray loss = Ops.mul(Masked.mean(unclipped.maximum(clipped), mask), 0.5);
    try (GradMode ignored = GradMode.disabled()) {
      Metrics metrics = new Metrics()
          .put(MetricNames.LOSS_VALUE, loss.getFloat())
          .put(MetricNames.VALUE_CLIPFRAC, fraction(clipped.gt(unclipped), mask))
          .put(MetricNames.VALUE_EXPLAINED_VARIANCE, explainedVariance(values, returns, mask));
      return new LossOutput(loss, metrics);
    }
  }

  /**
   * The entropy bonus, as a loss: −mean_t H(π(· | y_{<t})), H = −Σ_v p_v·log p_v over the
   * vocabulary, so minimising it (weighted by {@link PpoConfig#entropyCoef}) raises the entropy.
   * Metric: policy/entropy, the mean entropy itself in nats (ln V for a uniform distribution).
   *
   * @param logits [B, T, V] whose position t gives the distribution of response token t
   */
  public static LossOutput entropy(NDArray logits, NDArray mask) {
    if (logits.getShape().dimension() != 3 || !logits.getShape().slice(0, 2).equals(mask.getShape())) {
      throw new IllegalArgumentException("logits has shape " + logits.getShape()
          + ", expected [B, T, V] over the mask's " + mask.getShape());
    }
    return entropyOfLogProbs(logits.logSoftmax(-1), mask);
  }

  /** {@link #entropy} from log-probabilities [B, T, V] already taken (the log-softmax is the costly part). */
  public static LossOutput entropyOfLogProbs(NDArray logP, NDArray mask) {
    NDArray perToken = logP.exp().mul(logP).sum(new int[] {-1}).neg();
    NDArray meanEntropy = Masked.mean(perToken, mask);
    return new LossOutput(meanEntropy.neg(), new Metrics().put(MetricNames.POLICY_ENTROPY, meanEntropy.getFloat()));
  }

  /**
   * policy + vfCoef·value + entropyCoef·entropy (the entropy output may be null when the bonus is
   * off), with all their metrics and loss/total.
   */
  public static LossOutput total(LossOutput policy, LossOutput value, LossOutput entropy, PpoConfig config) {
    NDArray loss = policy.loss().add(Ops.mul(value.loss(), (float) config.vfCoef()));
    Metrics metrics = policy.metrics().copy().merge(value.metrics());
    if (entropy != null) {
      loss = loss.add(Ops.mul(entropy.loss(), (float) config.entropyCoef()));
      metrics.merge(entropy.metrics());
    }
    return new LossOutput(loss, metrics.put(MetricNames.LOSS_TOTAL, loss.getFloat()));
  }

  /**
   * 1 − Var(R − V) / Var(R) over the masked tokens: the share of the returns' variance the value
   * head explains (1 perfect, 0 no better than a constant, negative worse). Not finite when the
   * returns are constant.
   */
  public static double explainedVariance(NDArray values, NDArray returns, NDArray mask) {
    try (GradMode ignored = GradMode.disabled()) {
      double residual = Masked.variance(returns.sub(values), mask, false).getFloat();
      double total = Masked.variance(returns, mask, false).getFloat();
      return 1 - residual / total;
    }
  }

  /** The share of masked-in positions where {@code booleans} is true. */
  private static double fraction(NDArray booleans, NDArray mask) {
    return Masked.mean(booleans.toType(DataType.FLOAT32, false), mask).getFloat();
  }
}

package dev.troupe.algorithms.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.autograd.Ops;

/** The per-token reward PPO optimises: the sequence score, minus a KL penalty to the reference policy. */
@SuppressWarnings("try") // the GradMode scope is opened for its effect
public final class Rewards {
  private Rewards() {}

  /**
   * Shaped rewards of a rollout batch.
   *
   * @param rewards [B, T]: r_t as defined in {@link #perToken}, 0 at masked positions
   * @param kl [B]: Σ_t (log π − log π_ref) over each row's response tokens, in nats
   * @param metrics objective/kl, objective/kl_coef, objective/scores, objective/non_score_reward,
   *     objective/rlhf_reward
   */
  public record PerToken(NDArray rewards, NDArray kl, Metrics metrics) {}

  /**
   * The KL-shaped reward of Ziegler et al. 2019 ("Fine-Tuning Language Models from Human
   * Preferences", eq. 2) and Stiennon et al. 2020, spread over tokens as in TRL's PPOTrainer:
   * <pre>
   *   r_t = −β·(log π(y_t) − log π_ref(y_t))  +  [t is the row's last response token]·score
   * </pre>
   * The KL term is the sampled (k1) estimate: its sum over a row is an unbiased estimate of
   * KL(π‖π_ref) for the sequence. The last response token of a row is the last position whose mask
   * is 1, wherever the response sits in the row.
   *
   * @param scores [B] one score per sequence (reward model or judge)
   * @param logProbs [B, T] log π of each sampled token under the rollout policy
   * @param refLogProbs [B, T] the same tokens under the reference policy
   * @param mask [B, T] 1 at response tokens; every row needs at least one
   * @param beta the KL coefficient (the {@link KlController}'s current value)
   */
  public static PerToken perToken(NDArray scores, NDArray logProbs, NDArray refLogProbs, NDArray mask,
      double beta) {
    Masked.requireSameShape("logProbs", logProbs, mask);
    Masked.requireSameShape("refLogProbs", refLogProbs, mask);
    long b = mask.getShape().get(0);
    long t = mask.getShape().get(1);
    if (!scores.getShape().equals(new Shape(b))) {
      throw new IllegalArgumentException("scores has shape " + scores.getShape() + ", expected [" + b + "]");
    }
    try (GradMode ignored = GradMode.disabled()) {
      NDArray m = Masked.asFloat(mask);
      NDArray klPerToken = Masked.zeroed(logProbs.sub(refLogProbs), m);
      // 1-based position of each row's last response token: max over t of m_t · (t + 1); 0 for none.
      NDArray positions = logProbs.getManager().arange(1f, t + 1f);
      NDArray last = m.mul(positions).max(new int[] {1}, true);
      if (last.min().getFloat() < 1) {
        throw new IllegalArgumentException("every row needs a response token; a mask row is all 0");
      }
      NDArray atLast = positions.expandDims(0).eq(last).toType(DataType.FLOAT32, false);
      NDArray scoreFloat = scores.toType(DataType.FLOAT32, false);
      NDArray rewards = Ops.mul(klPerToken, -beta).add(atLast.mul(scoreFloat.expandDims(1)));
      NDArray kl = klPerToken.sum(new int[] {1});
      double meanKl = kl.mean().getFloat();
      double meanScore = scoreFloat.mean().getFloat();
      Metrics metrics = new Metrics()
          .put(MetricNames.OBJECTIVE_KL, meanKl)
          .put(MetricNames.OBJECTIVE_KL_COEF, beta)
          .put(MetricNames.OBJECTIVE_SCORES, meanScore)
          .put(MetricNames.OBJECTIVE_NON_SCORE_REWARD, -beta * meanKl)
          .put(MetricNames.OBJECTIVE_RLHF_REWARD, meanScore - beta * meanKl);
      return new PerToken(rewards, kl, metrics);
    }
  }
}

package dev.troupe.algorithms.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/** Generalized advantage estimation over the response tokens of a rollout batch. */
public final class Gae {
  private Gae() {}

  /**
   * Advantages and returns, [B, T] each, owned by the rewards' manager, without gradient.
   *
   * @param returns advantages + values: the value head's regression target
   */
  public record Estimate(NDArray advantages, NDArray returns) {}

  /**
   * GAE(γ, λ) of Schulman et al. 2016 ("High-Dimensional Continuous Control Using Generalized
   * Advantage Estimation"), backwards over each row:
   * <pre>
   *   δ_t = r_t + γ·V_{t+1} − V_t,    A_t = δ_t + γλ·A_{t+1},    R_t = A_t + V_t
   * </pre>
   * where t+1 is the row's next response token (mask 1) and V, A past the last one are 0: the
   * episode ends there, nothing is bootstrapped from padding. On a right-padded mask this is TRL's
   * PPOTrainer loop; masked positions come out 0.
   *
   * <p>A sequential scan over T, so it runs on the JVM in doubles: T tiny tensor ops would cost
   * more than copying [B, T] twice. Inputs are rollout data, never differentiated.
   */
  public static Estimate compute(NDArray rewards, NDArray values, NDArray mask, double gamma, double lam) {
    Masked.requireSameShape("rewards", rewards, mask);
    Masked.requireSameShape("values", values, mask);
    if (mask.getShape().dimension() != 2) {
      throw new IllegalArgumentException("GAE needs [B, T] tensors, got " + mask.getShape());
    }
    if (!(gamma >= 0 && gamma <= 1) || !(lam >= 0 && lam <= 1)) {
      throw new IllegalArgumentException("gamma and lam must be in [0, 1], got " + gamma + ", " + lam);
    }
    int b = (int) mask.getShape().get(0);
    int t = (int) mask.getShape().get(1);
    float[] r = rewards.toType(DataType.FLOAT32, false).toFloatArray();
    float[] v = values.toType(DataType.FLOAT32, false).toFloatArray();
    float[] m = Masked.asFloat(mask).toFloatArray();
    float[] advantages = new float[b * t];
    float[] returns = new float[b * t];
    for (int row = 0; row < b; row++) {
      double nextValue = 0;
      double nextAdvantage = 0;
      for (int col = t - 1; col >= 0; col--) {
        int i = row * t + col;
        if (m[i] == 0) {
          continue;
        }
        double delta = r[i] + gamma * nextValue - v[i];
        double advantage = delta + gamma * lam * nextAdvantage;
        advantages[i] = (float) advantage;
        returns[i] = (float) (advantage + v[i]);
        nextValue = v[i];
        nextAdvantage = advantage;
      }
    }
    Shape shape = mask.getShape();
    return new Estimate(rewards.getManager().create(advantages, shape), rewards.getManager().create(returns, shape));
  }
}

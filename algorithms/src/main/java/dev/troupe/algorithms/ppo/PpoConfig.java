package dev.troupe.algorithms.ppo;

/**
 * PPO hyper-parameters, with TRL's PPOConfig defaults ({@link #defaults()}); every check names the
 * field it rejects.
 *
 * @param gamma discount per token, in [0, 1]
 * @param lam GAE's λ, in [0, 1]
 * @param clipRange ε of the clipped policy ratio, > 0
 * @param clipRangeValue ε of the clipped value prediction around the old value, > 0
 * @param vfCoef weight of the value loss in the total loss, >= 0
 * @param entropyCoef weight of the entropy bonus in the total loss, >= 0
 * @param whitenAdvantages normalise advantages over the batch's response tokens before the update
 * @param whitenRewards rescale the shaped rewards (mean kept) before GAE
 * @param klCoef β of the KL penalty, or its initial value when {@code adaptiveKl} is set; >= 0
 * @param adaptiveKl the target of Ziegler et al.'s adaptive β, or null for a fixed β
 * @param epochs optimisation passes over each rollout batch, >= 1
 * @param minibatches minibatches per pass, >= 1
 */
public record PpoConfig(double gamma, double lam, double clipRange, double clipRangeValue, double vfCoef,
    double entropyCoef, boolean whitenAdvantages, boolean whitenRewards, double klCoef, AdaptiveKlTarget adaptiveKl,
    int epochs, int minibatches) {

  /**
   * Where the adaptive controller steers the KL: {@code target} nats per sequence, reached over
   * {@code horizon} sequences. Ziegler et al. 2019 and TRL used target 6, horizon 10000.
   */
  public record AdaptiveKlTarget(double target, long horizon) {
    public AdaptiveKlTarget {
      if (!(target > 0) || Double.isInfinite(target)) {
        throw new IllegalArgumentException("adaptiveKl.target must be a finite KL > 0, got " + target);
      }
      if (horizon <= 0) {
        throw new IllegalArgumentException("adaptiveKl.horizon must be > 0, got " + horizon);
      }
    }
  }

  public PpoConfig {
    requireIn("gamma", gamma, 0, 1);
    requireIn("lam", lam, 0, 1);
    requirePositive("clipRange", clipRange);
    requirePositive("clipRangeValue", clipRangeValue);
    requireNonNegative("vfCoef", vfCoef);
    requireNonNegative("entropyCoef", entropyCoef);
    requireNonNegative("klCoef", klCoef);
    if (adaptiveKl != null && klCoef == 0) {
      throw new IllegalArgumentException("klCoef must be > 0 with adaptiveKl: a β of 0 never adapts");
    }
    if (epochs < 1) {
      throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
    }
    if (minibatches < 1) {
      throw new IllegalArgumentException("minibatches must be >= 1, got " + minibatches);
    }
  }

  /**
   * TRL's PPOConfig: γ 1, λ 0.95, ε 0.2 for ratio and value, value coefficient 0.1, no entropy
   * bonus, advantages whitened, rewards not, fixed β 0.05, 4 epochs of 1 minibatch.
   */
  public static PpoConfig defaults() {
    return new PpoConfig(1.0, 0.95, 0.2, 0.2, 0.1, 0.0, true, false, 0.05, null, 4, 1);
  }

  /** This config with β adapted from {@code klCoef} toward {@code target} over {@code horizon} sequences. */
  public PpoConfig withAdaptiveKl(double target, long horizon) {
    return new PpoConfig(gamma, lam, clipRange, clipRangeValue, vfCoef, entropyCoef, whitenAdvantages, whitenRewards,
        klCoef, new AdaptiveKlTarget(target, horizon), epochs, minibatches);
  }

  public PpoConfig withKlCoef(double beta) {
    return new PpoConfig(gamma, lam, clipRange, clipRangeValue, vfCoef, entropyCoef, whitenAdvantages, whitenRewards,
        beta, adaptiveKl, epochs, minibatches);
  }

  private static void requireIn(String name, double value, double min, double max) {
    if (!(value >= min && value <= max)) {
      throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], got " + value);
    }
  }

  private static void requirePositive(String name, double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(name + " must be a finite number > 0, got " + value);
    }
  }

  private static void requireNonNegative(String name, double value) {
    if (!(value >= 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + value);
    }
  }
}

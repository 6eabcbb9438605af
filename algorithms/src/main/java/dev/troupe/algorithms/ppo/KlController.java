package dev.troupe.algorithms.ppo;

/** The KL coefficient β of the shaped reward ({@link Rewards#perToken}), fixed or adapted to a target KL. */
public sealed interface KlController permits KlController.FixedKl, KlController.AdaptiveKl {

  /** The coefficient to shape the next batch's rewards with. */
  double beta();

  /**
   * Reports the KL of the batch just shaped: {@code currentKl} = objective/kl (nats per sequence),
   * {@code nSteps} = the number of sequences in it (TRL passes the batch size).
   */
  void update(double currentKl, long nSteps);

  /**
   * {@link #update} when {@code currentKl} is finite; otherwise leaves β as it is and returns false. A
   * NaN KL comes from a batch whose log-probs went NaN: its updates are refused for their loss, and
   * one bad batch must not stop a run or drag β to an arbitrary value.
   */
  default boolean updateIfFinite(double currentKl, long nSteps) {
    if (!Double.isFinite(currentKl)) {
      return false;
    }
    update(currentKl, nSteps);
    return true;
  }

  /** The controller a config asks for: adaptive when it names a KL target, else fixed at klCoef. */
  static KlController of(PpoConfig config) {
    return config.adaptiveKl() == null
        ? new FixedKl(config.klCoef())
        : new AdaptiveKl(config.klCoef(), config.adaptiveKl().target(), config.adaptiveKl().horizon());
  }

  /** β that never changes. */
  final class FixedKl implements KlController {
    private final double beta;

    public FixedKl(double beta) {
      if (!(beta >= 0) || Double.isInfinite(beta)) {
        throw new IllegalArgumentException("beta must be a finite number >= 0, got " + beta);
      }
      this.beta = beta;
    }

    @Override
    public double beta() {
      return beta;
    }

    @Override
    public void update(double currentKl, long nSteps) {}
  }

  /**
   * The adaptive controller of Ziegler et al. 2019 ("Fine-Tuning Language Models from Human
   * Preferences", section 2.2), as TRL's {@code AdaptiveKLController}:
   * <pre>
   *   e = clip(KL / target − 1, −0.2, 0.2),    β ← β · (1 + e · nSteps / horizon)
   * </pre>
   * β grows while the policy drifts further than the target from the reference, and shrinks while
   * it stays closer; the clip bounds the change per update. Construct it with the saved β to resume.
   */
  final class AdaptiveKl implements KlController {
    private final double target;
    private final long horizon;
    private double beta;

    public AdaptiveKl(double initBeta, double target, long horizon) {
      if (!(initBeta > 0) || Double.isInfinite(initBeta)) {
        throw new IllegalArgumentException("initBeta must be a finite number > 0, got " + initBeta);
      }
      if (!(target > 0) || Double.isInfinite(target)) {
        throw new IllegalArgumentException("target must be a finite KL > 0, got " + target);
      }
      if (horizon <= 0) {
        throw new IllegalArgumentException("horizon must be > 0, got " + horizon);
      }
      this.beta = initBeta;
      this.target = target;
      this.horizon = horizon;
    }

    @Override
    public double beta() {
      return beta;
    }

    public double target() {
      return target;
    }

    public long horizon() {
      return horizon;
    }

    @Override
    public void update(double currentKl, long nSteps) {
      if (!Double.isFinite(currentKl) || nSteps < 0) {
        throw new IllegalArgumentException("need a finite KL and nSteps >= 0, got " + currentKl + ", " + nSteps);
      }
      double error = Math.max(-0.2, Math.min(0.2, currentKl / target - 1));
      beta *= 1 + error * nSteps / horizon;
    }
  }
}

package dev.troupe.algorithms.dpo;

/**
 * Direct preference optimisation hyper-parameters, with TRL's DPOConfig defaults
 * ({@link #defaults()}); every check names the field it rejects.
 *
 * @param beta β: how far from the reference the implicit reward lets the policy move, > 0
 * @param lossType which preference loss
 * @param labelSmoothing ε, the assumed probability that a pair's label is flipped, in [0, 0.5);
 *     only {@link LossType#CDPO} uses it, so any other type with ε ≠ 0 is rejected
 * @param rpoAlpha α ≥ 0, the weight of a negative log-likelihood term on the chosen response, per
 *     token (RPO, Pang et al. 2024; TRL's {@code rpo_alpha}); 0 switches it off
 * @param lengthNormalized whether the log-ratios of the sigmoid and cDPO losses are per-token means
 *     instead of sums (IPO's always are): a long response then weighs no more than a short one
 */
public record DpoConfig(double beta, LossType lossType, double labelSmoothing, double rpoAlpha,
    boolean lengthNormalized) {

  /** The loss on the log-ratio margin h (see {@link DpoLoss#compute}). */
  public enum LossType {
    /** DPO, Rafailov et al. 2023: −log σ(β·h). */
    SIGMOID,
    /** IPO, Azar et al. 2023: (h − 1/(2β))², on per-token average log-probs. */
    IPO,
    /** Conservative DPO, Mitchell 2023: −(1 − ε)·log σ(β·h) − ε·log σ(−β·h). */
    CDPO
  }

  public DpoConfig {
    if (!(beta > 0) || Double.isInfinite(beta)) {
      throw new IllegalArgumentException("beta must be a finite number > 0, got " + beta);
    }
    if (lossType == null) {
      throw new IllegalArgumentException("lossType must be SIGMOID, IPO or CDPO, got null");
    }
    if (!(labelSmoothing >= 0 && labelSmoothing < 0.5)) {
      throw new IllegalArgumentException("labelSmoothing must be in [0, 0.5), got " + labelSmoothing);
    }
    if (labelSmoothing != 0 && lossType != LossType.CDPO) {
      throw new IllegalArgumentException("labelSmoothing " + labelSmoothing + " needs lossType CDPO, got " + lossType);
    }
    if (!(rpoAlpha >= 0) || Double.isInfinite(rpoAlpha)) {
      throw new IllegalArgumentException("rpoAlpha must be a finite number >= 0, got " + rpoAlpha);
    }
  }

  /** A loss without the NLL term, on summed log-ratios (IPO: on per-token means). */
  public DpoConfig(double beta, LossType lossType, double labelSmoothing) {
    this(beta, lossType, labelSmoothing, 0.0, false);
  }

  /** DPO with β 0.1, TRL's default. */
  public static DpoConfig defaults() {
    return new DpoConfig(0.1, LossType.SIGMOID, 0.0);
  }

  public static DpoConfig ipo(double beta) {
    return new DpoConfig(beta, LossType.IPO, 0.0);
  }

  public static DpoConfig cdpo(double beta, double labelSmoothing) {
    return new DpoConfig(beta, LossType.CDPO, labelSmoothing);
  }

  public DpoConfig withBeta(double b) {
    return new DpoConfig(b, lossType, labelSmoothing, rpoAlpha, lengthNormalized);
  }

  public DpoConfig withRpoAlpha(double alpha) {
    return new DpoConfig(beta, lossType, labelSmoothing, alpha, lengthNormalized);
  }

  public DpoConfig withLengthNormalized(boolean normalized) {
    return new DpoConfig(beta, lossType, labelSmoothing, rpoAlpha, normalized);
  }

  /** Whether the log-ratios enter the loss as per-token means: always for IPO, on request otherwise. */
  public boolean perTokenLogRatios() {
    return lossType == LossType.IPO || lengthNormalized;
  }
}

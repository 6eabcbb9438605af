package dev.troupe.algorithms.trainer;

import dev.troupe.algorithms.config.TrainSettings;
import dev.troupe.algorithms.dpo.DpoConfig;
import dev.troupe.algorithms.grpo.GrpoConfig;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.ppo.PpoConfig;

/**
 * The algorithm configs for the keys a user writes (`troupe train` and a campaign's loops share the
 * names), so that both build their trainers the same way.
 */
public final class TrainerConfigs {
  private TrainerConfigs() {}

  /** TRL's PPO defaults with {@code ppo { kl-coef, kl-target, kl-horizon, epochs, minibatches }} applied
   * ({@code critic-lr}: {@link #ppoCritic}). */
  public static PpoConfig ppo(TrainSettings.Ppo o) {
    PpoConfig d = PpoConfig.defaults().withKlCoef(o.klCoef());
    PpoConfig config = new PpoConfig(d.gamma(), d.lam(), d.clipRange(), d.clipRangeValue(), d.vfCoef(),
        d.entropyCoef(), d.whitenAdvantages(), d.whitenRewards(), d.klCoef(), null, o.epochs(), o.minibatches());
    return o.klTarget() == null ? config : config.withAdaptiveKl(o.klTarget(), o.klHorizon());
  }

  /** The value head's optimizer: {@code optim} at {@code ppo.critic-lr} when it is set (same schedule shape, clipping). */
  public static OptimizerSettings ppoCritic(TrainSettings.Ppo o, OptimizerSettings optim) {
    return o.criticLr() == null ? optim : optim.withPeakLr(o.criticLr());
  }

  /** GRPO (or RLOO's leave-one-out baseline) with {@code grpo { group-size, beta, iterations, scale-rewards }}. */
  public static GrpoConfig grpo(boolean rloo, TrainSettings.Grpo o) {
    return new GrpoConfig(o.groupSize(), rloo ? GrpoConfig.Advantage.RLOO : GrpoConfig.Advantage.GRPO,
        o.scaleRewards(), 1e-4, 0.2, o.beta(), o.iterations());
  }

  /** {@code dpo}, {@code ipo} or {@code cdpo} with {@code dpo { beta, label-smoothing, rpo-alpha, length-normalized }}. */
  public static DpoConfig dpo(String algorithm, TrainSettings.Dpo o) {
    DpoConfig.LossType type = switch (algorithm) {
      case "ipo" -> DpoConfig.LossType.IPO;
      case "cdpo" -> DpoConfig.LossType.CDPO;
      case "dpo" -> DpoConfig.LossType.SIGMOID;
      default -> throw new IllegalArgumentException("unknown pairwise algorithm '" + algorithm + "' (dpo, ipo, cdpo)");
    };
    return new DpoConfig(o.beta(), type, type == DpoConfig.LossType.CDPO ? o.labelSmoothing() : 0.0, o.rpoAlpha(),
        o.lengthNormalized());
  }
}

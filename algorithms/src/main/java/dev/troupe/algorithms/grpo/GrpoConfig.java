package dev.troupe.algorithms.grpo;

/**
 * GRPO / RLOO hyper-parameters, with TRL's GRPOConfig defaults ({@link #defaults()}); every check
 * names the field it rejects.
 *
 * @param groupSize responses sampled per prompt (TRL num_generations), >= 2
 * @param advantage how a response is compared with its group
 * @param scaleByStd divide GRPO advantages by the group's standard deviation (TRL scale_rewards)
 * @param eps added to that standard deviation, >= 0
 * @param clipRange ε of the clipped policy ratio (TRL epsilon), > 0
 * @param beta weight of the k3 KL penalty to the reference policy, >= 0 (0: no reference needed)
 * @param iterations optimisation passes over each batch of groups (TRL num_iterations), >= 1
 */
public record GrpoConfig(int groupSize, Advantage advantage, boolean scaleByStd, double eps, double clipRange,
    double beta, int iterations) {

  /** The group baseline. */
  public enum Advantage {
    /** {@link GroupAdvantages#grpo}: (r − group mean) / (group std + eps). */
    GRPO,
    /** {@link GroupAdvantages#rloo}: r − mean of the other responses of the group. */
    RLOO
  }

  public GrpoConfig {
    if (groupSize < 2) {
      throw new IllegalArgumentException("groupSize must be >= 2, got " + groupSize);
    }
    if (advantage == null) {
      throw new IllegalArgumentException("advantage must be GRPO or RLOO, got null");
    }
    if (!(eps >= 0) || Double.isInfinite(eps)) {
      throw new IllegalArgumentException("eps must be a finite number >= 0, got " + eps);
    }
    if (!(clipRange > 0) || Double.isInfinite(clipRange)) {
      throw new IllegalArgumentException("clipRange must be a finite number > 0, got " + clipRange);
    }
    if (!(beta >= 0) || Double.isInfinite(beta)) {
      throw new IllegalArgumentException("beta must be a finite number >= 0, got " + beta);
    }
    if (iterations < 1) {
      throw new IllegalArgumentException("iterations must be >= 1, got " + iterations);
    }
  }

  /** Groups of 8, GRPO advantages scaled by the std (ε 1e-4), clip 0.2, β 0.04, one iteration. */
  public static GrpoConfig defaults() {
    return new GrpoConfig(8, Advantage.GRPO, true, 1e-4, 0.2, 0.04, 1);
  }
}

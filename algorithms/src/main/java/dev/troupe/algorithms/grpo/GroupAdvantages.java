package dev.troupe.algorithms.grpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.Ops;

/**
 * Critic-free advantages from a group of responses to the same prompt: one scalar per response,
 * compared with its siblings instead of a learned value. Rewards come as [numPrompts·groupSize],
 * each prompt's group contiguous (TRL repeats every prompt groupSize times in a row).
 */
public final class GroupAdvantages {
  private GroupAdvantages() {}

  /** {@link #grpo(NDArray, int, boolean, double)} with the std scaling and TRL's ε = 1e-4. */
  public static NDArray grpo(NDArray rewards, int groupSize) {
    return grpo(rewards, groupSize, true, 1e-4);
  }

  /**
   * GRPO's outcome advantage (Shao et al. 2024, "DeepSeekMath", section 4.1.2):
   * <pre>
   *   A_i = (r_i − mean(r_group)) / (std(r_group) + ε)
   * </pre>
   * with the sample (n − 1) standard deviation, as TRL's {@code torch.std}; without
   * {@code scaleByStd} only the mean is subtracted (Dr. GRPO, Liu et al. 2025, drops the division:
   * it up-weights groups that are nearly all right or all wrong). A group of equal rewards gives 0.
   *
   * @return [numPrompts·groupSize] fp32 in rewards' manager
   */
  public static NDArray grpo(NDArray rewards, int groupSize, boolean scaleByStd, double eps) {
    if (!(eps >= 0)) {
      throw new IllegalArgumentException("eps must be >= 0, got " + eps);
    }
    NDArray groups = grouped(rewards, groupSize);
    NDArray centred = groups.sub(groups.mean(new int[] {1}, true));
    if (scaleByStd) {
      NDArray std = Ops.div(centred.square().sum(new int[] {1}, true), groupSize - 1f).sqrt();
      centred = centred.div(std.add((float) eps));
    }
    return centred.reshape(rewards.getShape());
  }

  /**
   * REINFORCE leave-one-out (Ahmadian et al. 2024, "Back to Basics: Revisiting REINFORCE Style
   * Optimization for Learning from Human Feedback in LLMs", eq. 4; Kool et al. 2019):
   * <pre>
   *   A_i = r_i − (1 / (k − 1)) · Σ_{j≠i} r_j
   * </pre>
   * the baseline of each sample is the mean of the other k − 1, so it is unbiased.
   *
   * @return [numPrompts·groupSize] fp32 in rewards' manager
   */
  public static NDArray rloo(NDArray rewards, int groupSize) {
    NDArray groups = grouped(rewards, groupSize);
    NDArray baseline = Ops.div(groups.sum(new int[] {1}, true).sub(groups), groupSize - 1f);
    return groups.sub(baseline).reshape(rewards.getShape());
  }

  private static NDArray grouped(NDArray rewards, int groupSize) {
    if (groupSize < 2) {
      throw new IllegalArgumentException("groupSize must be >= 2 to compare a response with its group, got "
          + groupSize);
    }
    Shape shape = rewards.getShape();
    if (shape.dimension() != 1 || shape.get(0) % groupSize != 0) {
      throw new IllegalArgumentException("rewards must be [numPrompts * groupSize] with groupSize " + groupSize
          + ", got shape " + shape);
    }
    return rewards.toType(DataType.FLOAT32, false).reshape(shape.get(0) / groupSize, groupSize);
  }
}

package dev.troupe.algorithms.ppo;

import ai.djl.ndarray.NDArray;

/** Normalising advantages (or rewards) to zero mean and unit variance over the response tokens of a batch. */
public final class Whiten {
  private Whiten() {}

  /**
   * (x − mean) / sqrt(var + 1e-8) over the unmasked elements, with TRL's unbiased masked variance;
   * with {@code shiftMean} false the mean is added back, so only the scale changes (TRL whitens
   * rewards that way). Masked positions come out 0, as TRL fills the advantages of padding.
   */
  public static NDArray masked(NDArray x, NDArray mask, boolean shiftMean) {
    Masked.requireSameShape("x", x, mask);
    NDArray mean = Masked.mean(x, mask);
    NDArray whitened = x.sub(mean).div(Masked.variance(x, mask, true).add(1e-8f).sqrt());
    return Masked.zeroed(shiftMean ? whitened : whitened.add(mean), mask);
  }
}

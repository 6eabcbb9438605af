package dev.troupe.algorithms.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.Ops;

/**
 * Reductions over the response tokens of [B, T] tensors picked by a mask (1 = response token,
 * 0 = prompt or padding), TRL's {@code masked_mean} / {@code masked_var}. Values under a 0 never
 * reach the result nor, under grad mode, the gradient, even when they are not finite.
 */
public final class Masked {
  private Masked() {}

  /**
   * x where the mask is 1, else 0. A select, not a product: 0·NaN would be NaN, and a gradient
   * through {@code exp} of a garbage value would be ∞·0. Zero every input at padding before any
   * arithmetic on it.
   */
  public static NDArray zeroed(NDArray x, NDArray mask) {
    requireSameShape("x", x, mask);
    return NDArrays.where(asFloat(mask).gt(0), x, x.zerosLike());
  }

  /** Σ x·m / Σ m over all elements: a scalar (0 when the mask is all 0). */
  public static NDArray mean(NDArray x, NDArray mask) {
    return zeroed(x, mask).sum().div(Ops.maximum(asFloat(mask).sum(), 1));
  }

  /**
   * The masked variance, with Bessel's correction n / (n − 1) when {@code unbiased} (TRL's
   * {@code masked_var} default); throws when fewer than 2 (unbiased) or 1 elements are unmasked.
   */
  public static NDArray variance(NDArray x, NDArray mask, boolean unbiased) {
    float n = asFloat(mask).sum().getFloat();
    if (n < (unbiased ? 2 : 1)) {
      throw new IllegalArgumentException("the masked variance needs at least " + (unbiased ? 2 : 1)
          + " unmasked elements, got " + n);
    }
    NDArray centred = x.sub(mean(x, mask));
    NDArray variance = mean(centred.square(), mask);
    return unbiased ? Ops.mul(variance, n / (n - 1.0)) : variance;
  }

  /** The mask as fp32 (1/0), whatever its type (bool, int, float). */
  public static NDArray asFloat(NDArray mask) {
    return mask.getDataType() == DataType.FLOAT32 ? mask : mask.toType(DataType.FLOAT32, false);
  }

  /** Throws unless {@code x} has the mask's shape, naming the argument. */
  public static void requireSameShape(String name, NDArray x, NDArray mask) {
    Shape expected = mask.getShape();
    if (!x.getShape().equals(expected)) {
      throw new IllegalArgumentException(name + " has shape " + x.getShape() + " but the mask has " + expected);
    }
  }
}

package dev.troupe.algorithms.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;
import dev.troupe.model.autograd.Ops;

/** A response's log-probability from its per-token log-probs: the sum (DPO) or the per-token mean (IPO). */
public final class SequenceLogps {
  private SequenceLogps() {}

  /** [B]: Σ_t log π(y_t) over the tokens whose mask is 1, i.e. log π(y | x). */
  public static NDArray sum(NDArray tokenLogProbs, NDArray mask) {
    NDArray m = checked(tokenLogProbs, mask);
    // A select, not a product: padding positions may hold anything, even −∞.
    return NDArrays.where(m.gt(0), tokenLogProbs, tokenLogProbs.zerosLike()).sum(new int[] {1});
  }

  /** [B]: the sum divided by the number of response tokens (0 for a row without any). */
  public static NDArray mean(NDArray tokenLogProbs, NDArray mask) {
    NDArray m = checked(tokenLogProbs, mask);
    return sum(tokenLogProbs, m).div(Ops.maximum(m.sum(new int[] {1}), 1));
  }

  private static NDArray checked(NDArray tokenLogProbs, NDArray mask) {
    if (tokenLogProbs.getShape().dimension() != 2 || !tokenLogProbs.getShape().equals(mask.getShape())) {
      throw new IllegalArgumentException("need tokenLogProbs and mask of one shape [B, T], got "
          + tokenLogProbs.getShape() + " and " + mask.getShape());
    }
    return mask.getDataType() == DataType.FLOAT32 ? mask : mask.toType(DataType.FLOAT32, false);
  }
}

package dev.troupe.algorithms.sft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import dev.troupe.model.autograd.Ops;

/** Language-modelling cross-entropy: mean negative log-likelihood of each next token that is real. */
public final class NextTokenLoss {
  private NextTokenLoss() {}

  /**
   * −mean over counted positions of log p(ids[t+1] | ids[≤t]), for logits [B, T, V] of ids [B, T].
   * {@code lossMask} [B, T] (1 = this token is a target worth learning, e.g. padding and prompt
   * tokens 0) decides which targets count; position t+1 counts when it is a target.
   */
  public static NDArray mean(NDArray logits, NDArray ids, NDArray lossMask) {
    long t = ids.getShape().get(1);
    NDArray logProbs = logits.get(new NDIndex(":, :{}, :", t - 1)).logSoftmax(-1);
    NDArray targets = ids.get(new NDIndex(":, 1:")).expandDims(-1);
    NDArray tokenLogProbs = logProbs.gather(targets, -1).squeeze(-1); // [B, T-1]
    NDArray counted = lossMask.get(new NDIndex(":, 1:"));
    return tokenLogProbs.mul(counted).sum().neg().div(Ops.maximum(counted.sum(), 1));
  }
}

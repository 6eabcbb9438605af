package dev.troupe.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.util.SplittableRandom;
import dev.troupe.model.autograd.Ops;

/**
 * Picks the next token of every row on the device. Only one uniform number per row crosses from
 * the JVM (from a seeded generator), so results are reproducible and independent of other threads,
 * while the vocabulary-sized work stays in native code.
 */
final class Sampler {
  private final SamplingParams params;
  private final SplittableRandom random;

  Sampler(SamplingParams params) {
    this.params = params;
    this.random = new SplittableRandom(params.seed());
  }

  /** Next token ids and their log-probs for logits [B, V] (fp32), as {ids [B] int64, logProbs [B] fp32}. */
  NDList next(NDArray logits, NDManager step) {
    long batch = logits.getShape().get(0);
    long vocab = logits.getShape().get(1);
    if (params.greedy()) {
      NDArray ids = logits.argMax(1);
      NDArray logProbs = logits.logSoftmax(1).gather(ids.expandDims(1), 1).squeeze(1);
      return new NDList(ids, logProbs);
    }
    NDArray scaled = Ops.div(logits, params.temperature());
    NDArray logProbsAll = scaled.logSoftmax(1);
    NDArray candidates;
    NDArray candidateIds = null;
    if (params.topP() < 1.0) {
      // Sort once; top-k then is a prefix, top-p the prefix whose mass before it is < p.
      NDArray order = scaled.argSort(1, false);
      candidates = scaled.gather(order, 1);
      candidateIds = order;
      NDArray probs = candidates.softmax(1);
      NDArray massBefore = probs.cumSum(1).subi(probs);
      NDArray drop = massBefore.gt(params.topP());
      if (params.topK() > 0 && params.topK() < vocab) {
        NDArray rank = step.arange(0, (int) vocab).reshape(1, vocab);
        drop = drop.logicalOr(rank.gte(params.topK()));
      }
      candidates = candidates.sub(Ops.muli(drop.toType(DataType.FLOAT32, false), 1e30));
    } else if (params.topK() > 0 && params.topK() < vocab) {
      NDList top = scaled.topK(params.topK(), 1, true, false);
      candidates = top.get(0);
      candidateIds = top.get(1);
    } else {
      candidates = scaled;
    }
    // Inverse-CDF sampling with one JVM-drawn uniform per row.
    NDArray cdf = candidates.softmax(1).cumSum(1);
    float[] u = new float[Math.toIntExact(batch)];
    for (int i = 0; i < u.length; i++) {
      u[i] = (float) random.nextDouble();
    }
    NDArray threshold = step.create(u, new Shape(batch, 1)).mul(cdf.get(":, -1:"));
    NDArray index = Ops.minimum(cdf.lt(threshold).sum(new int[] {1}), cdf.getShape().get(1) - 1)
        .toType(DataType.INT64, false).expandDims(1);
    NDArray ids = candidateIds == null ? index : candidateIds.gather(index, 1);
    NDArray logProbs = logProbsAll.gather(ids, 1).squeeze(1);
    return new NDList(ids.squeeze(1), logProbs);
  }
}

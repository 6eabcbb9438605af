package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.Ops;

/**
 * Rotary position embedding (Su et al. 2021) in Hugging Face's "rotate half" layout: the two
 * halves of each head are a pair, not interleaved neighbours; rope_scaling arrives in the frequencies.
 */
final class Rope {
  private final NDArray cos; // [maxPositions, headDim]
  private final NDArray sin;
  private final int half;

  /** Tables for positions below {@code maxPositions}, one inverse frequency per rotary pair (rope_scaling applied). */
  Rope(int headDim, int maxPositions, double[] inverseFrequencies, NDManager manager) {
    half = headDim / 2;
    float[] cosValues = new float[maxPositions * headDim];
    float[] sinValues = new float[maxPositions * headDim];
    for (int p = 0; p < maxPositions; p++) {
      for (int i = 0; i < half; i++) {
        double angle = p * inverseFrequencies[i];
        // HF concatenates the frequencies twice: [f0..f(h-1), f0..f(h-1)].
        cosValues[p * headDim + i] = (float) Math.cos(angle);
        cosValues[p * headDim + i + half] = (float) Math.cos(angle);
        sinValues[p * headDim + i] = (float) Math.sin(angle);
        sinValues[p * headDim + i + half] = (float) Math.sin(angle);
      }
    }
    cos = manager.create(cosValues, new Shape(maxPositions, headDim));
    sin = manager.create(sinValues, new Shape(maxPositions, headDim));
  }

  /** cos and sin for integer positions [B, T], shaped [B, 1, T, headDim] to broadcast over heads. */
  NDList tables(NDArray positions) {
    return new NDList(
        Ops.embedding(positions, cos).expandDims(1), Ops.embedding(positions, sin).expandDims(1));
  }

  /** x·cos + rotate_half(x)·sin for x [B, heads, T, headDim]. */
  NDArray apply(NDArray x, NDList tables) {
    NDArray first = x.get(new NDIndex("..., :{}", half));
    NDArray second = x.get(new NDIndex("..., {}:", half));
    NDArray rotated = NDArrays.concat(new NDList(second.neg(), first), -1);
    NDArray c = tables.get(0).toType(x.getDataType(), false);
    NDArray s = tables.get(1).toType(x.getDataType(), false);
    return x.mul(c).addi(rotated.muli(s));
  }
}

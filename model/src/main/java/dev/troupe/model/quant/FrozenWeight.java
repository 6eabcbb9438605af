package dev.troupe.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/**
 * A frozen base projection weight of logical shape [out, in] (PyTorch Linear layout), stored dense
 * or quantized. The base never takes gradients; adapters train on top of it.
 */
public interface FrozenWeight extends AutoCloseable {

  long outFeatures();

  long inFeatures();

  /** y = x · Wᵀ over the last axis of x, without bias; the result belongs to x's manager. */
  NDArray apply(NDArray x);

  /** The weight as a dense fp32 [out, in] array owned by {@code manager} (for merging, DoRA norms, saving). */
  NDArray dense(NDManager manager);

  /** Bytes this weight occupies as stored (codes, scales and all), for memory accounting. */
  long storedBytes();

  Quantization quantization();

  @Override
  void close();
}

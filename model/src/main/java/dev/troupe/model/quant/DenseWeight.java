package dev.troupe.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.model.autograd.Ops;

/** An unquantized frozen weight: the array itself, in the model's dtype. */
public final class DenseWeight implements FrozenWeight {
  private final NDArray weight;

  /** Takes ownership of {@code weight} ([out, in]). */
  public DenseWeight(NDArray weight) {
    if (weight.getShape().dimension() != 2) {
      throw new IllegalArgumentException("a linear weight must be 2-D [out, in], got " + weight.getShape());
    }
    this.weight = weight;
  }

  public NDArray array() {
    return weight;
  }

  @Override
  public long outFeatures() {
    return weight.getShape().get(0);
  }

  @Override
  public long inFeatures() {
    return weight.getShape().get(1);
  }

  @Override
  public NDArray apply(NDArray x) {
    return Ops.linear(x, weight, null);
  }

  @Override
  public NDArray dense(NDManager manager) {
    // An explicit copy: toType(.., copy = true) may hand back the stored array itself, and callers
    // modify the result in place.
    return Quantizer.copyInto(weight, ai.djl.ndarray.types.DataType.FLOAT32, manager);
  }

  @Override
  public long storedBytes() {
    return weight.size() * weight.getDataType().getNumOfBytes();
  }

  @Override
  public Quantization quantization() {
    return Quantization.NONE;
  }

  @Override
  public void close() {
    weight.close();
  }
}

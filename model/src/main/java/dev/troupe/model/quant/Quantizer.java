package dev.troupe.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;

/** Turns a dense [out, in] linear weight into the frozen base weight of the configured {@link Quantization}. */
public final class Quantizer {
  private Quantizer() {}

  /**
   * The frozen weight of {@code kind} for {@code denseWeight} ([out, in]), its arrays owned by {@code
   * owner}. The input is copied or quantized, never closed.
   */
  public static FrozenWeight quantize(NDArray denseWeight, Quantization kind, NDManager owner) {
    requireMatrix(denseWeight);
    return switch (kind) {
      case NONE -> new DenseWeight(copyInto(denseWeight, denseWeight.getDataType(), owner));
      case INT8 -> Int8Weight.quantize(denseWeight, owner);
      case NF4 -> Nf4Weight.quantize(denseWeight, owner);
    };
  }

  static void requireMatrix(NDArray weight) {
    if (weight.getShape().dimension() != 2) {
      throw new IllegalArgumentException(
          "a linear weight must be 2-D [out, in], got shape " + weight.getShape());
    }
  }

  /**
   * A copy of {@code source} as {@code type}, created in {@code into}. Written as zeros + in-place add
   * because DJL would attach {@code source.toType(..)} to source's manager, which for a stored weight
   * is the long-lived one.
   */
  static NDArray copyInto(NDArray source, DataType type, NDManager into) {
    return dev.troupe.model.autograd.Ops.copyInto(source, type, into);
  }

  /**
   * x · Wᵀ for a quantized weight: dequantized into a per-call scope of x's manager (so neither the
   * weight's manager nor x's keeps the dense copy), cast to x's dtype, then one linear.
   */
  static NDArray applyDequantized(NDArray x, java.util.function.Function<NDManager, NDArray> dequantize) {
    try (NDManager call = x.getManager().newSubManager()) {
      NDArray w = dequantize.apply(call);
      if (x.getDataType() != DataType.FLOAT32) {
        w = w.toType(x.getDataType(), false);
      }
      return dev.troupe.model.autograd.Ops.linear(x, w, null);
    }
  }
}

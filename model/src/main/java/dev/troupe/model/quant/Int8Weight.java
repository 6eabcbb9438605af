package dev.troupe.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.troupe.model.autograd.Ops;

/**
 * A frozen weight stored as int8 with one fp32 absmax scale per output row (LLM.int8's vector-wise
 * quantization, Dettmers et al. 2022, without the fp16 outlier decomposition): about 8 bits a weight.
 */
public final class Int8Weight implements FrozenWeight {
  private final NDArray codes; // int8 [out, in], code = round(w / scale), in [-127, 127]
  private final NDArray scales; // fp32 [out, 1], row absmax / 127

  private Int8Weight(NDArray codes, NDArray scales) {
    this.codes = codes;
    this.scales = scales;
  }

  /** Quantizes {@code weight} ([out, in], any float dtype) into arrays owned by {@code owner}. */
  public static Int8Weight quantize(NDArray weight, NDManager owner) {
    Quantizer.requireMatrix(weight);
    try (NDManager scratch = owner.newSubManager()) {
      NDArray w = Quantizer.copyInto(weight, DataType.FLOAT32, scratch);
      NDArray scales = Ops.divi(w.abs().max(new int[] {1}, true), 127);
      // An all-zero row has scale 0: divide it by 1 instead, its codes are 0 either way.
      NDArray divisor = scales.add(scales.eq(0f).toType(DataType.FLOAT32, false));
      NDArray codes = w.div(divisor).round().clip(-127, 127).toType(DataType.INT8, false);
      codes.attach(owner);
      scales.attach(owner);
      return new Int8Weight(codes, scales);
    }
  }

  @Override
  public long outFeatures() {
    return codes.getShape().get(0);
  }

  @Override
  public long inFeatures() {
    return codes.getShape().get(1);
  }

  @Override
  public NDArray apply(NDArray x) {
    return Quantizer.applyDequantized(x, this::dequantize);
  }

  @Override
  public NDArray dense(NDManager manager) {
    return dequantize(manager);
  }

  /** codes · scale as fp32 [out, in], created in {@code into}; nothing touches the stored arrays' manager. */
  private NDArray dequantize(NDManager into) {
    return Quantizer.copyInto(codes, DataType.FLOAT32, into).muli(scales);
  }

  @Override
  public long storedBytes() {
    return codes.size() + scales.size() * Float.BYTES;
  }

  @Override
  public Quantization quantization() {
    return Quantization.INT8;
  }

  @Override
  public void close() {
    codes.close();
    scales.close();
  }
}

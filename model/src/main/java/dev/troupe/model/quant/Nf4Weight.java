package dev.troupe.model.quant;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.Ops;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * A frozen weight stored as QLoRA's 4-bit NormalFloat with double-quantized block scales (Dettmers et
 * al. 2023, "QLoRA", section 3 and appendix E; the same layout as bitsandbytes' nf4): about 4.13 bits
 * a weight.
 *
 * <p>The flattened [out, in] weight is cut into blocks of {@value #BLOCK_SIZE} (the last one padded
 * with zeros); each value is divided by its block's absmax and rounded to the nearest of the 16 NF4
 * codes, two codes packed per byte, the first in the high nibble. The fp32 block absmaxes are then
 * quantized once more: their mean is subtracted and the rest is stored as symmetric int8 with one fp32
 * scale per {@value #SCALE_BLOCK_SIZE} absmaxes.
 */
public final class Nf4Weight implements FrozenWeight {
  public static final int BLOCK_SIZE = 64;
  public static final int SCALE_BLOCK_SIZE = 256;

  /** The NF4 code values, exactly as in bitsandbytes (functional.py, get_4bit_type("nf4")). */
  static final float[] CODE = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044617f, 0.5626170039176941f, 0.7229568362236023f, 1.0f
  };

  private final long out;
  private final long in;
  private final NDArray packedCodes; // uint8 [paddedSize / 2]
  private final NDArray scaleCodes; // int8 [scaleGroups, 256], round((absmax - mean) / scaleScale)
  private final NDArray scaleScales; // fp32 [scaleGroups, 1]
  private final float scaleMean;

  private Nf4Weight(
      long out,
      long in,
      NDArray packedCodes,
      NDArray scaleCodes,
      NDArray scaleScales,
      float scaleMean) {
    this.out = out;
    this.in = in;
    this.packedCodes = packedCodes;
    this.scaleCodes = scaleCodes;
    this.scaleScales = scaleScales;
    this.scaleMean = scaleMean;
  }

  /** Quantizes {@code weight} ([out, in], any float dtype) into arrays owned by {@code owner}. */
  public static Nf4Weight quantize(NDArray weight, NDManager owner) {
    Quantizer.requireMatrix(weight);
    long out = weight.getShape().get(0);
    long in = weight.getShape().get(1);
    long size = out * in;
    long blocks = blockCount(size);
    long padded = blocks * BLOCK_SIZE;
    try (NDManager scratch = owner.newSubManager()) {
      NDArray flat = Quantizer.copyInto(weight, DataType.FLOAT32, scratch).reshape(size);
      if (padded > size) {
        flat = flat.concat(scratch.zeros(new Shape(padded - size)));
      }
      NDArray values = flat.reshape(blocks, BLOCK_SIZE);
      NDArray absmax = values.abs().max(new int[] {1}, true); // [blocks, 1]
      // An all-zero block divides by 1 instead of 0; its values all round to the code 0.0.
      NDArray divisor = absmax.add(absmax.eq(0f).toType(DataType.FLOAT32, false));
      NDArray normalized = values.div(divisor).reshape(padded);

      // Nearest code = how many midpoints between neighbouring codes the value lies above.
      NDArray codes = scratch.zeros(new Shape(padded), DataType.INT32);
      for (int k = 0; k + 1 < CODE.length; k++) {
        float midpoint = (CODE[k] + CODE[k + 1]) / 2f;
        codes.addi(normalized.gt(midpoint).toType(DataType.INT32, false));
      }
      NDArray pairs = codes.reshape(padded / 2, 2);
      NDArray packed = Ops.mul(pairs.get(":, 0"), 16).add(pairs.get(":, 1")).toType(DataType.UINT8, false);
      packed.attach(owner);

      DoubleQuantized scales = DoubleQuantized.of(absmax.toFloatArray());
      NDArray scaleCodes =
          owner.create(
              ByteBuffer.wrap(scales.codes()),
              new Shape(scales.groups(), SCALE_BLOCK_SIZE),
              DataType.INT8);
      NDArray scaleScales =
          owner.create(FloatBuffer.wrap(scales.scales()), new Shape(scales.groups(), 1));
      return new Nf4Weight(out, in, packed, scaleCodes, scaleScales, scales.mean());
    }
  }

  static long blockCount(long size) {
    return (size + BLOCK_SIZE - 1) / BLOCK_SIZE;
  }

  /** Row b holds the values of b's high and low nibble, so one embedding lookup unpacks a byte. */
  private static final float[] BYTE_PAIRS = bytePairTable();

  private static float[] bytePairTable() {
    float[] table = new float[256 * 2];
    for (int b = 0; b < 256; b++) {
      table[2 * b] = CODE[b >>> 4];
      table[2 * b + 1] = CODE[b & 0xF];
    }
    return table;
  }

  /**
   * QLoRA's double quantization of the block absmaxes: subtract the mean (they are all positive, so
   * centring them doubles the int8 resolution), then symmetric int8 with one scale per 256 of them.
   */
  record DoubleQuantized(byte[] codes, float[] scales, float mean) {
    int groups() {
      return scales.length;
    }

    static DoubleQuantized of(float[] absmax) {
      double sum = 0;
      for (float a : absmax) {
        sum += a;
      }
      float mean = (float) (sum / absmax.length);
      int groups = (absmax.length + SCALE_BLOCK_SIZE - 1) / SCALE_BLOCK_SIZE;
      byte[] codes = new byte[groups * SCALE_BLOCK_SIZE];
      float[] scales = new float[groups];
      for (int g = 0; g < groups; g++) {
        int from = g * SCALE_BLOCK_SIZE;
        int to = Math.min(from + SCALE_BLOCK_SIZE, absmax.length);
        float maxDeviation = 0f;
        for (int i = from; i < to; i++) {
          maxDeviation = Math.max(maxDeviation, Math.abs(absmax[i] - mean));
        }
        float scale = maxDeviation / 127f;
        scales[g] = scale;
        for (int i = from; scale > 0f && i < to; i++) {
          codes[i] = (byte) Math.max(-127, Math.min(127, Math.round((absmax[i] - mean) / scale)));
        }
      }
      return new DoubleQuantized(codes, scales, mean);
    }
  }

  @Override
  public long outFeatures() {
    return out;
  }

  @Override
  public long inFeatures() {
    return in;
  }

  @Override
  public NDArray apply(NDArray x) {
    return Quantizer.applyDequantized(x, this::dequantize);
  }

  @Override
  public NDArray dense(NDManager manager) {
    try (NDManager scratch = manager.newSubManager()) {
      NDArray w = dequantize(scratch);
      w.attach(manager);
      return w;
    }
  }

  /**
   * The fp32 [out, in] weight, every array created in {@code into}: the stored arrays only ever appear
   * as second operands or as sources of {@link Quantizer#copyInto}, so their manager gains nothing.
   */
  private NDArray dequantize(NDManager into) {
    long size = out * in;
    long blocks = blockCount(size);
    long padded = blocks * BLOCK_SIZE;
    NDArray absmax =
        Quantizer.copyInto(scaleCodes, DataType.FLOAT32, into)
            .muli(scaleScales)
            .addi(scaleMean)
            .reshape(-1)
            .get("0:" + blocks)
            .reshape(blocks, 1);
    NDArray bytes = Quantizer.copyInto(packedCodes, DataType.INT64, into);
    // The 2 KB table is made per call rather than stored: it is shared by every weight and would
    // otherwise cost more than a small layer's codes.
    NDArray bytePairs = into.create(BYTE_PAIRS, new Shape(256, 2));
    NDArray values = Ops.embedding(bytes, bytePairs).reshape(blocks, BLOCK_SIZE).muli(absmax);
    NDArray flat = values.reshape(padded);
    if (padded > size) {
      flat = flat.get("0:" + size);
    }
    return flat.reshape(out, in);
  }

  @Override
  public long storedBytes() {
    return packedCodes.size()
        + scaleCodes.size()
        + scaleScales.size() * Float.BYTES
        + Float.BYTES; // the mean of the absmaxes
  }

  @Override
  public Quantization quantization() {
    return Quantization.NF4;
  }

  @Override
  public void close() {
    packedCodes.close();
    scaleCodes.close();
    scaleScales.close();
  }
}

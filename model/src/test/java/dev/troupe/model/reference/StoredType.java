package dev.troupe.model.reference;

import java.nio.ByteBuffer;

/**
 * The float formats a checkpoint stores, with the rounding each applies (IEEE 754 round to nearest
 * even, as torch's casts do): F32, F16 (5-bit exponent) and BF16 (float32's exponent, 7-bit mantissa).
 */
public enum StoredType {
  F32(4),
  F16(2),
  BF16(2);

  final int bytes;

  StoredType(int bytes) {
    this.bytes = bytes;
  }

  /** The value this format stores for {@code value}, back in double. */
  public double round(double value) {
    float f = (float) value;
    return switch (this) {
      case F32 -> f;
      case F16 -> halfToFloat(floatToHalf(f));
      case BF16 -> Float.intBitsToFloat(floatToBfloat16(f) << 16);
    };
  }

  /** Appends {@code value}'s stored bytes, little-endian, to {@code out}. */
  void put(ByteBuffer out, double value) {
    float f = (float) value;
    switch (this) {
      case F32 -> out.putFloat(f);
      case F16 -> out.putShort((short) floatToHalf(f));
      case BF16 -> out.putShort((short) floatToBfloat16(f));
      default -> throw new IllegalStateException(name());
    }
  }

  /** The upper 16 bits of a float, rounded to nearest even on the 16 dropped bits. */
  static int floatToBfloat16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (bits >>> 16) | 0x40;
    }
    return (bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16;
  }

  /** IEEE half precision bits of a float, round to nearest even, subnormals and overflow to infinity included. */
  static int floatToHalf(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exponent = (bits >>> 23) & 0xff;
    int mantissa = bits & 0x7fffff;
    if (exponent == 0xff) {
      return sign | 0x7c00 | (mantissa != 0 ? 0x200 : 0);
    }
    int e = exponent - 127 + 15;
    if (e >= 31) {
      return sign | 0x7c00;
    }
    if (e <= 0) {
      if (e < -10) {
        return sign;
      }
      int full = mantissa | 0x800000;
      int shift = 14 - e;
      int half = full >> shift;
      int rest = full & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rest > halfway || (rest == halfway && (half & 1) == 1)) {
        half++;
      }
      return sign | half;
    }
    int half = (e << 10) | (mantissa >> 13);
    int rest = mantissa & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (half & 1) == 1)) {
      half++; // a carry into the exponent is the correct rounding up
    }
    return sign | half;
  }

  static float halfToFloat(int half) {
    int sign = (half & 0x8000) << 16;
    int exponent = (half >>> 10) & 0x1f;
    int mantissa = half & 0x3ff;
    if (exponent == 0) {
      return Float.intBitsToFloat(sign) + (sign != 0 ? -1 : 1) * mantissa * 0x1p-24f;
    }
    if (exponent == 31) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mantissa << 13));
    }
    return Float.intBitsToFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
  }
}

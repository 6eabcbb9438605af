package dev.troupe.model.safetensors;

import ai.djl.ndarray.types.DataType;

/**
 * The element types of safetensors, declared in the order of the format's own Rust enum
 * (huggingface/safetensors, safetensors/src/tensor.rs): the writer lays tensors out by descending
 * dtype, like HF, so every tensor starts at a multiple of its element size.
 */
enum Dtype {
  BOOL(1, DataType.BOOLEAN),
  U8(1, DataType.UINT8),
  I8(1, DataType.INT8),
  F8_E5M2(1, null),
  F8_E4M3(1, null),
  I16(2, null),
  U16(2, null),
  F16(2, DataType.FLOAT16),
  BF16(2, DataType.FLOAT32),
  I32(4, DataType.INT32),
  U32(4, null),
  F32(4, DataType.FLOAT32),
  F64(8, DataType.FLOAT64),
  I64(8, DataType.INT64),
  U64(8, null);

  /** Bytes per element in the file. */
  final int bytes;

  /**
   * The DJL type that holds this dtype on the engine, both ways; null where none can. DJL 0.32's
   * PyTorch JNI maps only FLOAT32 to BOOLEAN onto torch types (GetScalarTypeFromDType in
   * djl_pytorch_utils.h); any other DataType, BFLOAT16 and INT16 included, hits a bare rethrow
   * there that aborts the JVM. So BF16 goes through F32, converted in Java, and I16, U16, U32, U64
   * and FP8 are refused.
   */
  final DataType held;

  Dtype(int bytes, DataType held) {
    this.bytes = bytes;
    this.held = held;
  }

  /** The dtype the file names {@code name}, or null for one this reader does not know. */
  static Dtype named(String name) {
    for (Dtype dtype : values()) {
      if (dtype.name().equals(name)) {
        return dtype;
      }
    }
    return null;
  }

  /** How an array of {@code type} is stored, or null where safetensors has no such dtype. */
  static Dtype storing(DataType type) {
    return switch (type) {
      case BOOLEAN -> BOOL;
      case UINT8 -> U8;
      case INT8 -> I8;
      case FLOAT16 -> F16;
      case BFLOAT16 -> BF16;
      case INT32 -> I32;
      case FLOAT32 -> F32;
      case FLOAT64 -> F64;
      case INT64 -> I64;
      default -> null;
    };
  }

  /** bf16 is the top half of an f32, so widening is exact. */
  static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }

  /** Rounds to the nearest bf16, ties to even, as torch's {@code .to(torch.bfloat16)} does. */
  static short floatToBf16(float value) {
    int bits = Float.floatToRawIntBits(value);
    if (Float.isNaN(value)) {
      return (short) ((bits >>> 16) | 0x0040); // keep it a (quiet) NaN rather than round it to inf
    }
    return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
  }
}

package dev.troupe.model.reference;

import java.util.Arrays;

/** A named weight on the reference side: its Hugging Face shape and row-major values in double. */
public record ReferenceTensor(long[] shape, double[] values) {
  public ReferenceTensor {
    long size = 1;
    for (long d : shape) {
      size *= d;
    }
    if (size != values.length) {
      throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + size
          + " values, got " + values.length);
    }
  }

  public int rows() {
    return (int) shape[0];
  }

  public int columns() {
    return shape.length == 1 ? 1 : (int) shape[1];
  }

  /** Entry [r][c] of a matrix. */
  public double at(int r, int c) {
    return values[r * columns() + c];
  }

  /** The same tensor with every value rounded to what {@code type} stores (exact for F32 of a float). */
  public ReferenceTensor roundedTo(StoredType type) {
    double[] out = new double[values.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = type.round(values[i]);
    }
    return new ReferenceTensor(shape.clone(), out);
  }
}

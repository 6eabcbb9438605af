package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;

/**
 * Rows of token ids padded into one batch: ids [B, T] (int64, pad id 0) and mask [B, T] (fp32,
 * 1 = token). Left padding for generation and scoring (every row ends at the last column), right
 * padding for training losses.
 */
public record Batch(NDArray ids, NDArray mask) {

  public static Batch leftPadded(NDManager manager, List<long[]> rows) {
    return padded(manager, rows, true);
  }

  public static Batch rightPadded(NDManager manager, List<long[]> rows) {
    return padded(manager, rows, false);
  }

  private static Batch padded(NDManager manager, List<long[]> rows, boolean left) {
    if (rows.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one row");
    }
    int t = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
    long[] ids = new long[rows.size() * t];
    float[] mask = new float[rows.size() * t];
    for (int b = 0; b < rows.size(); b++) {
      long[] row = rows.get(b);
      int start = b * t + (left ? t - row.length : 0);
      System.arraycopy(row, 0, ids, start, row.length);
      Arrays.fill(mask, start, start + row.length, 1f);
    }
    Shape shape = new Shape(rows.size(), t);
    return new Batch(manager.create(ids, shape), manager.create(mask, shape));
  }

  public int length() {
    return Math.toIntExact(ids.getShape().get(1));
  }
}

package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.config.ModelConfig;

/** Tiny model shapes and batches shared by the model tests. */
public final class TinyModels {
  private TinyModels() {}

  /** Llama with grouped-query attention (4 query heads over 2 kv heads), untied head, 2 layers. */
  public static ModelConfig llama() {
    return ModelConfig.llama(97, 32, 2, 4, 2, 64, 64);
  }

  public static ModelConfig gpt2() {
    return ModelConfig.gpt2(97, 32, 2, 4, 64);
  }

  /**
   * Left-pads rows of token ids into ids [B, T] and mask [B, T] owned by {@code manager}.
   */
  public static NDArray[] leftPadded(NDManager manager, long[]... rows) {
    int t = 0;
    for (long[] r : rows) {
      t = Math.max(t, r.length);
    }
    long[] ids = new long[rows.length * t];
    float[] mask = new float[rows.length * t];
    for (int b = 0; b < rows.length; b++) {
      int pad = t - rows[b].length;
      for (int i = 0; i < rows[b].length; i++) {
        ids[b * t + pad + i] = rows[b][i];
        mask[b * t + pad + i] = 1f;
      }
    }
    return new NDArray[] {
      manager.create(ids, new Shape(rows.length, t)), manager.create(mask, new Shape(rows.length, t))
    };
  }

  public static float maxAbsDiff(NDArray a, NDArray b) {
    return a.sub(b).abs().max().getFloat();
  }
}

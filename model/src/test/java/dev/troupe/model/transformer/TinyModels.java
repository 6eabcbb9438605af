package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
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

  /** Left-pads rows of token ids into {ids, mask} owned by {@code manager}. */
  public static NDArray[] leftPadded(NDManager manager, long[]... rows) {
    Batch batch = Batch.leftPadded(manager, java.util.List.of(rows));
    return new NDArray[] {batch.ids(), batch.mask()};
  }

  public static float maxAbsDiff(NDArray a, NDArray b) {
    return a.sub(b).abs().max().getFloat();
  }
}

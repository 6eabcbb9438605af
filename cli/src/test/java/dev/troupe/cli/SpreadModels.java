package dev.troupe.cli;

import ai.djl.ndarray.NDManager;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Tiny random models for the command's tests, saved as HF folders with their weights spread like a
 * real base's, N(0, 0.5) instead of CausalLm.random's N(0, 0.02): at 0.02 the frozen head caps every
 * logit near 1, so neither an adapter's effect nor quantization error has room to show.
 */
final class SpreadModels {
  private SpreadModels() {}

  /** Writes config.json and model.safetensors of a {@code config} model drawn from {@code seed} into {@code folder}. */
  @SuppressWarnings("try")
  static void write(ModelConfig config, long seed, Path folder) throws IOException {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm lm = CausalLm.random(config, seed, root);
        NDManager scratch = root.newSubManager();
        GradMode ignored = GradMode.disabled()) {
      lm.stateDict(scratch).forEach((name, weight) -> {
        if (!name.contains("norm")) {
          weight.muli(25);
        }
      });
      HfModel.save(lm, folder);
    }
  }
}

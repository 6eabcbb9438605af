package dev.troupe.model.hf;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.safetensors.SafeTensors;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Hugging Face model folders: config.json plus model.safetensors (or shards with an index),
 * read into a {@link CausalLm} and written back with HF's exact names and shapes.
 */
public final class HfModel {
  private HfModel() {}

  /**
   * How to hold the base in memory.
   *
   * @param dtype weights are cast to it (fp32, bf16, fp16)
   * @param quantization linear weights stored as none, int8 or nf4 (QLoRA-style frozen base)
   */
  public record LoadOptions(DataType dtype, Quantization quantization) {
    public LoadOptions {
      if (dtype != DataType.FLOAT32 && dtype != DataType.FLOAT16) {
        throw new IllegalArgumentException("model dtype must be fp32 or fp16, got " + dtype);
      }
    }

    public static LoadOptions defaults() {
      return new LoadOptions(DataType.FLOAT32, Quantization.NONE);
    }

    /**
     * Parses the config's dtype name: fp32 | fp16 (also float32, float16). bf16 checkpoints load
     * fine (converted while reading), but DJL 0.32's PyTorch bridge cannot hold a bf16 tensor
     * (the JVM aborts), so bf16 is refused as the in-memory dtype.
     */
    public static DataType parseDtype(String name) {
      return switch (name.toLowerCase(Locale.ROOT)) {
        case "fp32", "float32" -> DataType.FLOAT32;
        case "fp16", "float16" -> DataType.FLOAT16;
        case "bf16", "bfloat16" -> throw new IllegalArgumentException("dtype bf16 cannot be held in memory "
            + "with DJL 0.32's PyTorch engine; use fp32 or fp16 (bf16 checkpoints are converted on load)");
        default -> throw new IllegalArgumentException("unknown dtype '" + name + "' (expected fp32, bf16 or fp16)");
      };
    }
  }

  public static CausalLm load(Path dir, LoadOptions options, NDManager parent) throws IOException {
    if (!Files.isDirectory(dir)) {
      throw new ModelFormatException(dir, "model folder not found");
    }
    ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
    Map<String, NDArray> tensors = SafeTensors.readCheckpoint(dir, parent, options.dtype());
    return CausalLm.fromTensors(config, tensors, dir, parent, options.dtype(), options.quantization());
  }

  /** Writes config.json and model.safetensors (each file atomically) into {@code dir}. */
  public static void save(CausalLm model, Path dir) throws IOException {
    Files.createDirectories(dir);
    try (NDManager scratch = model.manager().newSubManager()) {
      SafeTensors.write(dir.resolve("model.safetensors"), model.stateDict(scratch), Map.of("format", "pt"));
    }
    model.config().write(dir.resolve("config.json"));
  }
}

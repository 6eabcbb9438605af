package dev.troupe.model.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.config.RopeScaling;
import dev.troupe.model.safetensors.SafeTensors;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.model.transformer.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HfModelTest {
  @TempDir Path dir;

  static ModelConfig config(String family) {
    return switch (family) {
      case "llama" -> TinyModels.llama();
      case "qwen2" -> TinyModels.llama().withQkvBias(true).withTiedEmbeddings(true).withRopeScaling(2.0);
      case "llama3" -> TinyModels.llama().withRopeScaling(RopeScaling.llama3(8, 1, 4, 256));
      default -> TinyModels.gpt2();
    };
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2", "llama3", "gpt2"})
  void saveThenLoadReproducesTheLogitsExactly(String family) throws IOException {
    try (NDManager root = NDManager.newBaseManager();
        GradMode ignored = GradMode.disabled();
        CausalLm original = CausalLm.random(config(family), 5, root)) {
      HfModel.save(original, dir);
      try (CausalLm loaded = HfModel.load(dir, HfModel.LoadOptions.defaults(), root);
          NDManager step = root.newSubManager()) {
        assertEquals(original.config(), loaded.config());
        NDArray[] batch = TinyModels.leftPadded(step, new long[] {3, 1, 4, 1, 5}, new long[] {9, 2});
        NDArray a = original.forward(batch[0], batch[1], null, false);
        NDArray b = loaded.forward(batch[0], batch[1], null, false);
        assertEquals(0f, TinyModels.maxAbsDiff(a, b), family + " logits after save/load");
      }
    }
  }

  @Test
  void savedNamesAndShapesAreHuggingFaces() throws IOException {
    try (NDManager root = NDManager.newBaseManager(); CausalLm gpt2 = CausalLm.random(TinyModels.gpt2(), 5, root)) {
      HfModel.save(gpt2, dir);
      var header = SafeTensors.header(dir.resolve("model.safetensors"));
      // GPT-2 stores its projections as Conv1D [in, out]; hidden 32, so c_attn is [32, 96].
      assertEquals(List.of(32L, 96L), java.util.Arrays.stream(header.get("transformer.h.0.attn.c_attn.weight").shape()).boxed().toList());
      assertEquals(List.of(32L, 128L), java.util.Arrays.stream(header.get("transformer.h.1.mlp.c_fc.weight").shape()).boxed().toList());
      assertTrue(header.containsKey("transformer.wpe.weight"));
      assertTrue(!header.containsKey("lm_head.weight"), "tied head is not saved, as in HF");
      String config = Files.readString(dir.resolve("config.json"));
      assertTrue(config.contains("\"GPT2LMHeadModel\"") && config.contains("\"n_embd\" : 32"), config);
    }
    try (NDManager root = NDManager.newBaseManager(); CausalLm llama = CausalLm.random(TinyModels.llama(), 5, root)) {
      Path llamaDir = dir.resolve("llama");
      HfModel.save(llama, llamaDir);
      var header = SafeTensors.header(llamaDir.resolve("model.safetensors"));
      // 2 kv heads x head dim 8 = 16 rows for k and v.
      assertEquals(List.of(16L, 32L), java.util.Arrays.stream(header.get("model.layers.0.self_attn.k_proj.weight").shape()).boxed().toList());
      assertTrue(header.containsKey("lm_head.weight") && header.containsKey("model.norm.weight")
          && header.containsKey("model.layers.1.post_attention_layernorm.weight"));
      assertEquals(3 + 2 * 9, header.size(), "embed, norm, lm_head + 9 tensors per layer");
    }
  }

  @Test
  void tensorWithTheWrongShapeIsAnErrorNamingTheTensor() throws IOException {
    try (NDManager root = NDManager.newBaseManager(); CausalLm llama = CausalLm.random(TinyModels.llama(), 5, root)) {
      HfModel.save(llama, dir);
      try (NDManager scratch = root.newSubManager()) {
        Map<String, NDArray> tensors = new java.util.LinkedHashMap<>(SafeTensors.read(dir.resolve("model.safetensors"), scratch, null));
        tensors.put("model.layers.1.mlp.up_proj.weight", scratch.zeros(new ai.djl.ndarray.types.Shape(63, 32)));
        SafeTensors.write(dir.resolve("model.safetensors"), tensors, Map.of());
      }
      ModelFormatException e = assertThrows(ModelFormatException.class, () -> HfModel.load(dir, HfModel.LoadOptions.defaults(), root));
      assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains("model.layers.1.mlp.up_proj.weight")
          && e.getMessage().contains("(63, 32)"), e.getMessage());
    }
  }

  @Test
  void missingTensorAndCorruptHeaderAreErrorsNamingTheFile() throws IOException {
    try (NDManager root = NDManager.newBaseManager(); CausalLm llama = CausalLm.random(TinyModels.llama(), 5, root)) {
      HfModel.save(llama, dir);
      try (NDManager scratch = root.newSubManager()) {
        Map<String, NDArray> tensors = new java.util.LinkedHashMap<>(SafeTensors.read(dir.resolve("model.safetensors"), scratch, null));
        tensors.remove("model.norm.weight");
        SafeTensors.write(dir.resolve("model.safetensors"), tensors, Map.of());
      }
      ModelFormatException missing = assertThrows(ModelFormatException.class, () -> HfModel.load(dir, HfModel.LoadOptions.defaults(), root));
      assertTrue(missing.getMessage().contains("missing tensor 'model.norm.weight'"), missing.getMessage());

      byte[] bytes = Files.readAllBytes(dir.resolve("model.safetensors"));
      bytes[8] = '#'; // the header's opening brace
      Files.write(dir.resolve("model.safetensors"), bytes);
      ModelFormatException corrupt = assertThrows(ModelFormatException.class, () -> HfModel.load(dir, HfModel.LoadOptions.defaults(), root));
      assertTrue(corrupt.getMessage().contains("model.safetensors") && corrupt.getMessage().contains("JSON"), corrupt.getMessage());
    }
  }

  @Test
  void unknownArchitectureAndMissingFieldNameTheFileAndField() throws IOException {
    Path config = dir.resolve("config.json");
    Files.writeString(config, "{\"model_type\": \"mamba\", \"hidden_size\": 8}");
    ModelFormatException unknown = assertThrows(ModelFormatException.class, () -> ModelConfig.read(config));
    assertTrue(unknown.getMessage().contains(config.toString()) && unknown.getMessage().contains("unknown model_type 'mamba'"), unknown.getMessage());

    Files.writeString(config, "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_attention_heads\": 2, \"vocab_size\": 10,"
        + " \"num_hidden_layers\": 1, \"max_position_embeddings\": 16}");
    ModelFormatException missing = assertThrows(ModelFormatException.class, () -> ModelConfig.read(config));
    assertTrue(missing.getMessage().contains("missing field 'intermediate_size'"), missing.getMessage());

    ModelFormatException noFolder = assertThrows(ModelFormatException.class,
        () -> HfModel.load(dir.resolve("nowhere"), HfModel.LoadOptions.defaults(), null));
    assertTrue(noFolder.getMessage().contains("nowhere"), noFolder.getMessage());
  }

  @Test
  void ropeScalingThatCannotBeHonouredNamesTheFileAndTheField() throws IOException {
    Path config = dir.resolve("config.json");
    String llama = "{\"model_type\": \"llama\", \"hidden_size\": 8, \"num_attention_heads\": 2, \"vocab_size\": 10,"
        + " \"num_hidden_layers\": 1, \"max_position_embeddings\": 16, \"intermediate_size\": 16, \"rope_scaling\": ";
    Files.writeString(config, llama + "{\"rope_type\": \"yarn\", \"factor\": 4}}");
    ModelFormatException yarn = assertThrows(ModelFormatException.class, () -> ModelConfig.read(config));
    assertTrue(yarn.getMessage().contains(config.toString()) && yarn.getMessage().contains("rope_scaling type 'yarn'")
        && yarn.getMessage().contains("linear, llama3"), yarn.getMessage());

    Files.writeString(config, llama + "{\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1,"
        + " \"original_max_position_embeddings\": 8192}}");
    ModelFormatException missing = assertThrows(ModelFormatException.class, () -> ModelConfig.read(config));
    assertTrue(missing.getMessage().contains("rope_scaling.high_freq_factor must be a positive number"), missing.getMessage());

    Files.writeString(config, llama + "{\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 4,"
        + " \"high_freq_factor\": 1, \"original_max_position_embeddings\": 8192}}");
    ModelFormatException swapped = assertThrows(ModelFormatException.class, () -> ModelConfig.read(config));
    assertTrue(swapped.getMessage().contains("high_freq_factor 1.0 must exceed low_freq_factor 4.0"), swapped.getMessage());

    Files.writeString(config, llama + "{\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1,"
        + " \"high_freq_factor\": 4, \"original_max_position_embeddings\": 8192}}");
    assertEquals(RopeScaling.llama3(8, 1, 4, 8192), ModelConfig.read(config).ropeScaling());
  }

  @Test
  void bf16IsRefusedAsInMemoryDtypeWithAReason() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HfModel.LoadOptions.parseDtype("bf16"));
    assertTrue(e.getMessage().contains("fp32"), e.getMessage());
  }
}

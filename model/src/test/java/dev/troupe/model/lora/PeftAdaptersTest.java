package dev.troupe.model.lora;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.autograd.GradMode;
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

class PeftAdaptersTest {
  @TempDir Path dir;

  @Test
  void peftKeyNamesMatchPeftsOwnForLlamaAndGpt2() throws IOException {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm llama = CausalLm.random(TinyModels.llama(), 1, root);
        CausalLm gpt2 = CausalLm.random(TinyModels.gpt2(), 1, root)) {
      Adapter a = llama.createAdapter("a", LoraConfig.of(4, 8, "q", "v"), 1);
      // As written by PEFT's get_peft_model_state_dict for LlamaForCausalLM with target_modules [q_proj, v_proj].
      assertEquals(List.of(
          "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
          "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight",
          "base_model.model.model.layers.0.self_attn.v_proj.lora_A.weight",
          "base_model.model.model.layers.0.self_attn.v_proj.lora_B.weight",
          "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight",
          "base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight",
          "base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight",
          "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"), PeftAdapters.keys(a));
      Adapter g = gpt2.createAdapter("g", LoraConfig.of(4, 8, "c_attn").withDora(true), 1);
      assertEquals(List.of(
          "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight",
          "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight",
          "base_model.model.transformer.h.0.attn.c_attn.lora_magnitude_vector",
          "base_model.model.transformer.h.1.attn.c_attn.lora_A.weight",
          "base_model.model.transformer.h.1.attn.c_attn.lora_B.weight",
          "base_model.model.transformer.h.1.attn.c_attn.lora_magnitude_vector"), PeftAdapters.keys(g));
      PeftAdapters.save(g, gpt2, "gpt2-tiny", dir);
      var header = SafeTensors.header(dir.resolve(PeftAdapters.WEIGHTS_FILE));
      assertEquals(List.of(4L, 32L), java.util.Arrays.stream(header.get("base_model.model.transformer.h.0.attn.c_attn.lora_A.weight").shape()).boxed().toList());
      assertEquals(List.of(96L, 4L), java.util.Arrays.stream(header.get("base_model.model.transformer.h.0.attn.c_attn.lora_B.weight").shape()).boxed().toList());
      JsonNode config = new ObjectMapper().readTree(dir.resolve(PeftAdapters.CONFIG_FILE).toFile());
      assertEquals("LORA", config.get("peft_type").asText());
      assertEquals(4, config.get("r").asInt());
      assertEquals(8.0, config.get("lora_alpha").asDouble());
      assertEquals("c_attn", config.get("target_modules").get(0).asText());
      assertTrue(config.get("use_dora").asBoolean() && config.get("fan_in_fan_out").asBoolean());
    }
  }

  @Test
  void saveThenLoadReproducesTheAdaptedOutputsExactly() throws IOException {
    try (NDManager root = NDManager.newBaseManager();
        GradMode ignored = GradMode.disabled();
        CausalLm model = CausalLm.random(TinyModels.llama(), 1, root);
        NDManager step = root.newSubManager()) {
      for (LoraConfig config : List.of(LoraConfig.of(4, 8, "q", "k", "v", "o", "gate", "up", "down").withRsLora(true),
          LoraConfig.of(2, 4, "q", "down").withDora(true))) {
        String name = config.useDora() ? "dora" : "lora";
        Adapter trained = model.createAdapter(name, config, 3);
        AdapterTest.perturb(trained, 4);
        Path folder = dir.resolve(name);
        PeftAdapters.save(trained, model, "tiny", folder);
        Adapter loaded = model.register(PeftAdapters.load(folder, name + "-loaded", model));
        assertEquals(trained.layers().keySet(), loaded.layers().keySet());
        assertEquals(config.rank(), loaded.config().rank());
        assertEquals(config.scaling(), loaded.config().scaling());
        assertEquals(config.useDora(), loaded.config().useDora());
        NDArray expected = AdapterTest.logits(model, step, trained);
        assertEquals(0f, TinyModels.maxAbsDiff(expected, AdapterTest.logits(model, step, loaded)), name);
      }
    }
  }

  @Test
  void adapterForAnotherModelIsAnErrorNamingTheKey() throws IOException {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(TinyModels.llama(), 1, root);
        NDManager scratch = root.newSubManager()) {
      Adapter a = model.createAdapter("a", LoraConfig.of(4, 8, "q"), 1);
      PeftAdapters.save(a, model, "tiny", dir);
      Map<String, NDArray> tensors = new java.util.LinkedHashMap<>(SafeTensors.read(dir.resolve(PeftAdapters.WEIGHTS_FILE), scratch, null));
      tensors.put("base_model.model.model.layers.7.self_attn.q_proj.lora_A.weight", scratch.zeros(new ai.djl.ndarray.types.Shape(4, 32)));
      SafeTensors.write(dir.resolve(PeftAdapters.WEIGHTS_FILE), tensors, Map.of());
      ModelFormatException e = assertThrows(ModelFormatException.class, () -> PeftAdapters.load(dir, "x", model));
      assertTrue(e.getMessage().contains("model.layers.7.self_attn.q_proj"), e.getMessage());

      Files.writeString(dir.resolve(PeftAdapters.CONFIG_FILE), "{\"peft_type\": \"PREFIX_TUNING\"}");
      ModelFormatException type = assertThrows(ModelFormatException.class, () -> PeftAdapters.load(dir, "x", model));
      assertTrue(type.getMessage().contains(PeftAdapters.CONFIG_FILE) && type.getMessage().contains("PREFIX_TUNING"), type.getMessage());
    }
  }
}

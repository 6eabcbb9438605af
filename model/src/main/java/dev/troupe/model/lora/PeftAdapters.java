package dev.troupe.model.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.safetensors.SafeTensors;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.model.transformer.WeightNames;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * PEFT adapter folders (adapter_config.json + adapter_model.safetensors with PEFT's key names), so
 * adapters trained here load in PEFT and vLLM, and PEFT adapters load here.
 */
public final class PeftAdapters {
  public static final String CONFIG_FILE = "adapter_config.json";
  public static final String WEIGHTS_FILE = "adapter_model.safetensors";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String A = "lora_A.weight";
  private static final String B = "lora_B.weight";
  private static final String MAGNITUDE = "lora_magnitude_vector";

  private PeftAdapters() {}

  /** PEFT's tensor names for an adapter, in model order (what {@link #save} writes). */
  public static List<String> keys(Adapter adapter) {
    List<String> keys = new ArrayList<>();
    for (Map.Entry<String, LoraLayer> e : adapter.layers().entrySet()) {
      keys.add(WeightNames.peftKey(e.getKey(), A));
      keys.add(WeightNames.peftKey(e.getKey(), B));
      if (e.getValue().isDora()) {
        keys.add(WeightNames.peftKey(e.getKey(), MAGNITUDE));
      }
    }
    return keys;
  }

  /** The adapter's tensors under PEFT's key names, in model order (the adapter's own arrays, not copies). */
  public static Map<String, NDArray> tensors(Adapter adapter) {
    Map<String, NDArray> tensors = new LinkedHashMap<>();
    for (Map.Entry<String, LoraLayer> e : adapter.layers().entrySet()) {
      tensors.put(WeightNames.peftKey(e.getKey(), A), e.getValue().a());
      tensors.put(WeightNames.peftKey(e.getKey(), B), e.getValue().b());
      if (e.getValue().isDora()) {
        tensors.put(WeightNames.peftKey(e.getKey(), MAGNITUDE), e.getValue().magnitude());
      }
    }
    return tensors;
  }

  /** Writes the adapter as a PEFT folder; {@code baseModel} goes into base_model_name_or_path. */
  public static void save(Adapter adapter, CausalLm model, String baseModel, Path dir) throws IOException {
    Files.createDirectories(dir);
    SafeTensors.write(dir.resolve(WEIGHTS_FILE), tensors(adapter), Map.of("format", "pt"));
    Files.writeString(dir.resolve(CONFIG_FILE), configJson(adapter, model, baseModel));
  }

  /** PEFT's adapter_config.json for {@code adapter}. */
  public static String configJson(Adapter adapter, CausalLm model, String baseModel) {
    LoraConfig c = adapter.config();
    ObjectNode o = JSON.createObjectNode();
    o.put("peft_type", "LORA");
    o.put("task_type", "CAUSAL_LM");
    o.put("base_model_name_or_path", baseModel);
    o.put("r", c.rank());
    o.put("lora_alpha", c.alpha());
    o.put("lora_dropout", c.dropout());
    Set<String> modules = new LinkedHashSet<>();
    adapter.layers().keySet().forEach(p -> modules.add(p.substring(p.lastIndexOf('.') + 1)));
    ArrayNode targets = o.putArray("target_modules");
    modules.forEach(targets::add);
    o.put("use_rslora", c.useRsLora());
    o.put("use_dora", c.useDora());
    // GPT-2's projections are Conv1D, whose weight PEFT must read transposed.
    o.put("fan_in_fan_out", model.config().architecture() == dev.troupe.model.config.Architecture.GPT2);
    o.put("bias", "none");
    o.put("inference_mode", true);
    o.put("init_lora_weights", true);
    o.putNull("modules_to_save");
    o.putObject("rank_pattern");
    o.putObject("alpha_pattern");
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(o);
    } catch (IOException e) {
      throw new IllegalStateException("cannot render adapter_config.json", e);
    }
  }

  /** Reads a PEFT LoRA / DoRA folder into an adapter named {@code name} over {@code model} (not registered). */
  public static Adapter load(Path dir, String name, CausalLm model) throws IOException {
    Path configFile = dir.resolve(CONFIG_FILE);
    LoraConfig config = readConfig(configFile);
    Path weights = dir.resolve(WEIGHTS_FILE);
    if (!Files.isRegularFile(weights)) {
      throw new ModelFormatException(weights, "adapter weights not found");
    }
    NDManager manager = model.manager().newSubManager();
    try {
      return fromTensors(name, config, SafeTensors.read(weights, manager, model.dtype()), model, manager, weights);
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  /**
   * An adapter named {@code name} over {@code model} (not registered) from tensors under PEFT's key
   * names, owned by {@code manager} (which the adapter then owns); {@code source} names where they came
   * from in errors.
   */
  public static Adapter fromTensors(String name, LoraConfig config, Map<String, NDArray> tensors, CausalLm model,
      NDManager manager, Path source) throws ModelFormatException {
    Path weights = source;
    Map<String, AdaptedLinear> linears = new LinkedHashMap<>();
    model.linears().forEach(l -> linears.put(l.path(), l));
    Map<String, NDArray[]> byModule = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
      String key = e.getKey();
      String suffix = key.endsWith("." + A) ? A : key.endsWith("." + B) ? B
          : key.endsWith("." + MAGNITUDE) ? MAGNITUDE
          : key.endsWith("." + MAGNITUDE + ".weight") ? MAGNITUDE + ".weight" : null;
      if (suffix == null || !key.startsWith("base_model.model.")) {
        throw new ModelFormatException(weights, "tensor '" + key + "' is not a PEFT LoRA key "
            + "(base_model.model.<module>.lora_A.weight / lora_B.weight / lora_magnitude_vector)");
      }
      String module = key.substring("base_model.model.".length(), key.length() - suffix.length() - 1);
      if (!linears.containsKey(module)) {
        throw new ModelFormatException(weights, "tensor '" + key + "' names module '" + module
            + "', which this " + model.config().modelType() + " model does not have");
      }
      int slot = suffix.equals(A) ? 0 : suffix.equals(B) ? 1 : 2;
      byModule.computeIfAbsent(module, m -> new NDArray[3])[slot] = e.getValue();
    }
    Map<String, LoraLayer> layers = new LinkedHashMap<>();
    for (Map.Entry<String, NDArray[]> e : byModule.entrySet()) {
      String module = e.getKey();
      NDArray[] t = e.getValue();
      AdaptedLinear linear = linears.get(module);
      if (t[0] == null || t[1] == null) {
        throw new ModelFormatException(weights, "module '" + module + "' has " + (t[0] == null ? "no lora_A" : "no lora_B"));
      }
      expectShape(weights, module + ".lora_A", t[0], new Shape(config.rank(), linear.weight().inFeatures()));
      expectShape(weights, module + ".lora_B", t[1], new Shape(linear.weight().outFeatures(), config.rank()));
      if (config.useDora() != (t[2] != null)) {
        throw new ModelFormatException(weights, "module '" + module + "': use_dora is " + config.useDora()
            + " but the magnitude vector is " + (t[2] == null ? "missing" : "present"));
      }
      if (t[2] != null) {
        expectShape(weights, module + ".lora_magnitude_vector", t[2], new Shape(linear.weight().outFeatures()));
      }
      layers.put(module, new LoraLayer(t[0], t[1], t[2], config.scaling(), config.dropout()));
    }
    if (layers.isEmpty()) {
      throw new ModelFormatException(weights, "holds no adapter tensors");
    }
    // Keep model order, whatever order the tensors had.
    Map<String, LoraLayer> ordered = new LinkedHashMap<>();
    linears.keySet().stream().filter(layers::containsKey).forEach(p -> ordered.put(p, layers.get(p)));
    return new Adapter(name, config, ordered, manager);
  }

  private static void expectShape(Path file, String what, NDArray array, Shape expected) throws ModelFormatException {
    if (!array.getShape().equals(expected)) {
      throw new ModelFormatException(file, what + " has shape " + array.getShape() + ", expected " + expected);
    }
    if (array.getDataType() != DataType.FLOAT32 && array.getDataType() != DataType.BFLOAT16
        && array.getDataType() != DataType.FLOAT16) {
      throw new ModelFormatException(file, what + " has dtype " + array.getDataType() + ", expected a float type");
    }
  }

  static LoraConfig readConfig(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new ModelFormatException(file, "adapter config not found");
    }
    return parseConfig(Files.readString(file), file);
  }

  /** An adapter_config.json's LoRA settings; {@code source} names it in errors. */
  public static LoraConfig parseConfig(String json, Path source) throws ModelFormatException {
    Path file = source;
    JsonNode o;
    try {
      o = JSON.readTree(json);
    } catch (IOException e) {
      throw new ModelFormatException(file, "not valid JSON: " + e.getMessage(), e);
    }
    String type = o.path("peft_type").asText("");
    if (!type.equals("LORA")) {
      throw new ModelFormatException(file, "peft_type '" + type + "' is not supported (LORA, with use_dora for DoRA)");
    }
    if (!o.path("r").isIntegralNumber()) {
      throw new ModelFormatException(file, "field 'r' must be an integer rank");
    }
    if (o.path("rank_pattern").size() > 0 || o.path("alpha_pattern").size() > 0) {
      throw new ModelFormatException(file, "rank_pattern / alpha_pattern (per-module ranks) are not supported");
    }
    JsonNode targets = o.path("target_modules");
    List<String> names = new ArrayList<>();
    if (targets.isArray()) {
      targets.forEach(t -> names.add(t.asText()));
    } else if (targets.isTextual()) {
      names.add(targets.asText());
    }
    if (names.isEmpty()) {
      throw new ModelFormatException(file, "field 'target_modules' is missing or empty");
    }
    double alpha = o.path("lora_alpha").asDouble(o.path("r").asInt());
    return new LoraConfig(o.path("r").asInt(), alpha, o.path("lora_dropout").asDouble(0),
        names, o.path("use_rslora").asBoolean(false), o.path("use_dora").asBoolean(false));
  }
}

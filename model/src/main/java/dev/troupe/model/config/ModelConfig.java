package dev.troupe.model.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.model.ModelFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The shape of a causal LM, read from (and written back to) a Hugging Face {@code config.json}.
 *
 * @param modelType HF's model_type: llama, mistral, qwen2 or gpt2
 * @param numKvHeads key/value heads; fewer than {@code numHeads} means grouped-query attention
 * @param ropeScaling rope_scaling (linear or llama3); {@link RopeScaling#NONE} when absent
 * @param qkvBias q/k/v projections carry a bias (Qwen2, Llama's attention_bias, GPT-2)
 * @param outputBias o-projection and MLP carry biases (Llama's attention_bias / mlp_bias, GPT-2)
 */
public record ModelConfig(
    Architecture architecture,
    String modelType,
    int vocabSize,
    int hiddenSize,
    int numLayers,
    int numHeads,
    int numKvHeads,
    int intermediateSize,
    int maxPositions,
    double normEps,
    double ropeTheta,
    RopeScaling ropeScaling,
    boolean tieWordEmbeddings,
    boolean qkvBias,
    boolean outputBias,
    boolean mlpBias,
    List<Long> eosTokenIds,
    Long bosTokenId) {

  private static final ObjectMapper JSON = new ObjectMapper();

  public ModelConfig {
    eosTokenIds = List.copyOf(eosTokenIds);
    if (hiddenSize % numHeads != 0) {
      throw new IllegalArgumentException(
          "hidden_size " + hiddenSize + " is not divisible by num_attention_heads " + numHeads);
    }
    if (numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException(
          "num_attention_heads " + numHeads + " is not a multiple of num_key_value_heads " + numKvHeads);
    }
  }

  public int headDim() {
    return hiddenSize / numHeads;
  }

  /** A Llama-family config for tests, benchmarks and the built-in task. */
  public static ModelConfig llama(
      int vocab, int hidden, int layers, int heads, int kvHeads, int intermediate, int maxPositions) {
    return new ModelConfig(Architecture.LLAMA, "llama", vocab, hidden, layers, heads, kvHeads,
        intermediate, maxPositions, 1e-5, 10000.0, RopeScaling.NONE, false, false, false, false, List.of(), null);
  }

  /** A GPT-2 config for tests. */
  public static ModelConfig gpt2(int vocab, int hidden, int layers, int heads, int maxPositions) {
    return new ModelConfig(Architecture.GPT2, "gpt2", vocab, hidden, layers, heads, heads,
        4 * hidden, maxPositions, 1e-5, 0, RopeScaling.NONE, true, true, true, true, List.of(), null);
  }

  public ModelConfig withTiedEmbeddings(boolean tied) {
    return new ModelConfig(architecture, modelType, vocabSize, hiddenSize, numLayers, numHeads,
        numKvHeads, intermediateSize, maxPositions, normEps, ropeTheta, ropeScaling, tied,
        qkvBias, outputBias, mlpBias, eosTokenIds, bosTokenId);
  }

  public ModelConfig withQkvBias(boolean bias) {
    return new ModelConfig(architecture, bias ? "qwen2" : modelType, vocabSize, hiddenSize,
        numLayers, numHeads, numKvHeads, intermediateSize, maxPositions, normEps, ropeTheta,
        ropeScaling, tieWordEmbeddings, bias, outputBias, mlpBias, eosTokenIds, bosTokenId);
  }

  /** Linear rope scaling by {@code factor}. */
  public ModelConfig withRopeScaling(double factor) {
    return withRopeScaling(RopeScaling.linear(factor));
  }

  public ModelConfig withRopeScaling(RopeScaling scaling) {
    return new ModelConfig(architecture, modelType, vocabSize, hiddenSize, numLayers, numHeads,
        numKvHeads, intermediateSize, maxPositions, normEps, ropeTheta, scaling, tieWordEmbeddings,
        qkvBias, outputBias, mlpBias, eosTokenIds, bosTokenId);
  }

  public ModelConfig withEos(List<Long> eos) {
    return new ModelConfig(architecture, modelType, vocabSize, hiddenSize, numLayers, numHeads,
        numKvHeads, intermediateSize, maxPositions, normEps, ropeTheta, ropeScaling,
        tieWordEmbeddings, qkvBias, outputBias, mlpBias, eos, bosTokenId);
  }

  /** Reads config.json; an unknown model_type or a missing field is an error naming the file and the field. */
  public static ModelConfig read(Path file) throws IOException {
    if (!Files.isRegularFile(file)) {
      throw new ModelFormatException(file, "config.json not found");
    }
    JsonNode root;
    try {
      root = JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new ModelFormatException(file, "not valid JSON: " + e.getMessage(), e);
    }
    Fields f = new Fields(file, root);
    String type = f.string("model_type");
    return switch (type) {
      case "llama", "mistral", "qwen2" -> readLlama(f, type);
      case "gpt2" -> readGpt2(f);
      default -> throw new ModelFormatException(file,
          "unknown model_type '" + type + "' (supported: llama, mistral, qwen2, gpt2)");
    };
  }

  private static ModelConfig readLlama(Fields f, String type) throws ModelFormatException {
    int heads = f.integer("num_attention_heads");
    int hidden = f.integer("hidden_size");
    if (f.has("head_dim") && f.integer("head_dim") != hidden / heads) {
      throw f.error("head_dim " + f.integer("head_dim") + " differs from hidden_size / num_attention_heads; not supported");
    }
    boolean attentionBias = f.bool("attention_bias", false);
    boolean qkvBias = type.equals("qwen2") || attentionBias;
    return new ModelConfig(Architecture.LLAMA, type, f.integer("vocab_size"), hidden,
        f.integer("num_hidden_layers"), heads, f.integer("num_key_value_heads", heads),
        f.integer("intermediate_size"), f.integer("max_position_embeddings"),
        f.number("rms_norm_eps", 1e-6), f.number("rope_theta", 10000.0), f.ropeScaling(),
        f.bool("tie_word_embeddings", false), qkvBias, attentionBias, f.bool("mlp_bias", false),
        f.tokenIds("eos_token_id"), f.optionalLong("bos_token_id"));
  }

  private static ModelConfig readGpt2(Fields f) throws ModelFormatException {
    int hidden = f.integer("n_embd");
    String activation = f.string("activation_function", "gelu_new");
    if (!activation.equals("gelu_new") && !activation.equals("gelu_pytorch_tanh")) {
      throw f.error("activation_function '" + activation + "' is not supported (gelu_new)");
    }
    int inner = f.root.hasNonNull("n_inner") ? f.integer("n_inner") : 4 * hidden;
    return new ModelConfig(Architecture.GPT2, "gpt2", f.integer("vocab_size"), hidden,
        f.integer("n_layer"), f.integer("n_head"), f.integer("n_head"), inner,
        f.integer("n_positions"), f.number("layer_norm_epsilon", 1e-5), 0, RopeScaling.NONE,
        f.bool("tie_word_embeddings", true), true, true, true, f.tokenIds("eos_token_id"),
        f.optionalLong("bos_token_id"));
  }

  /** Writes config.json as Hugging Face transformers expects it for this family. */
  public void write(Path file) throws IOException {
    ObjectNode o = JSON.createObjectNode();
    ArrayNode archs = o.putArray("architectures");
    if (architecture == Architecture.GPT2) {
      archs.add("GPT2LMHeadModel");
      o.put("model_type", "gpt2");
      o.put("vocab_size", vocabSize);
      o.put("n_embd", hiddenSize);
      o.put("n_layer", numLayers);
      o.put("n_head", numHeads);
      o.put("n_inner", intermediateSize);
      o.put("n_positions", maxPositions);
      o.put("n_ctx", maxPositions);
      o.put("layer_norm_epsilon", normEps);
      o.put("activation_function", "gelu_new");
      o.put("tie_word_embeddings", tieWordEmbeddings);
    } else {
      archs.add(switch (modelType) {
        case "qwen2" -> "Qwen2ForCausalLM";
        case "mistral" -> "MistralForCausalLM";
        default -> "LlamaForCausalLM";
      });
      o.put("model_type", modelType);
      o.put("vocab_size", vocabSize);
      o.put("hidden_size", hiddenSize);
      o.put("num_hidden_layers", numLayers);
      o.put("num_attention_heads", numHeads);
      o.put("num_key_value_heads", numKvHeads);
      o.put("intermediate_size", intermediateSize);
      o.put("max_position_embeddings", maxPositions);
      o.put("rms_norm_eps", normEps);
      o.put("rope_theta", ropeTheta);
      if (ropeScaling.type().equals("linear")) {
        o.putObject("rope_scaling").put("rope_type", "linear").put("type", "linear").put("factor", ropeScaling.factor());
      } else if (ropeScaling.type().equals("llama3")) {
        o.putObject("rope_scaling").put("rope_type", "llama3").put("factor", ropeScaling.factor())
            .put("low_freq_factor", ropeScaling.lowFreqFactor()).put("high_freq_factor", ropeScaling.highFreqFactor())
            .put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
      }
      o.put("hidden_act", "silu");
      o.put("tie_word_embeddings", tieWordEmbeddings);
      if (!modelType.equals("qwen2")) {
        o.put("attention_bias", qkvBias);
        o.put("mlp_bias", mlpBias);
      }
    }
    if (bosTokenId != null) {
      o.put("bos_token_id", bosTokenId);
    }
    if (eosTokenIds.size() == 1) {
      o.put("eos_token_id", eosTokenIds.get(0));
    } else if (!eosTokenIds.isEmpty()) {
      ArrayNode eos = o.putArray("eos_token_id");
      eosTokenIds.forEach(eos::add);
    }
    o.put("torch_dtype", "float32");
    Files.createDirectories(file.toAbsolutePath().getParent());
    JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), o);
  }

  /** Field access that names the file and the field in every error. */
  private record Fields(Path file, JsonNode root) {
    ModelFormatException error(String problem) {
      return new ModelFormatException(file, problem);
    }

    boolean has(String name) {
      return root.hasNonNull(name);
    }

    JsonNode require(String name) throws ModelFormatException {
      JsonNode n = root.get(name);
      if (n == null || n.isNull()) {
        throw error("missing field '" + name + "'");
      }
      return n;
    }

    String string(String name) throws ModelFormatException {
      JsonNode n = require(name);
      if (!n.isTextual()) {
        throw error("field '" + name + "' must be a string, got " + n);
      }
      return n.asText();
    }

    String string(String name, String fallback) throws ModelFormatException {
      return has(name) ? string(name) : fallback;
    }

    int integer(String name) throws ModelFormatException {
      JsonNode n = require(name);
      if (!n.canConvertToInt() || !n.isIntegralNumber() || n.asInt() <= 0) {
        throw error("field '" + name + "' must be a positive integer, got " + n);
      }
      return n.asInt();
    }

    int integer(String name, int fallback) throws ModelFormatException {
      return has(name) ? integer(name) : fallback;
    }

    double number(String name, double fallback) throws ModelFormatException {
      if (!has(name)) {
        return fallback;
      }
      JsonNode n = root.get(name);
      if (!n.isNumber()) {
        throw error("field '" + name + "' must be a number, got " + n);
      }
      return n.asDouble();
    }

    boolean bool(String name, boolean fallback) throws ModelFormatException {
      if (!has(name)) {
        return fallback;
      }
      JsonNode n = root.get(name);
      if (!n.isBoolean()) {
        throw error("field '" + name + "' must be true or false, got " + n);
      }
      return n.asBoolean();
    }

    Long optionalLong(String name) {
      return has(name) && root.get(name).isIntegralNumber() ? root.get(name).asLong() : null;
    }

    List<Long> tokenIds(String name) throws ModelFormatException {
      List<Long> ids = new ArrayList<>();
      if (!has(name)) {
        return ids;
      }
      JsonNode n = root.get(name);
      if (n.isIntegralNumber()) {
        ids.add(n.asLong());
      } else if (n.isArray()) {
        for (JsonNode e : n) {
          if (!e.isIntegralNumber()) {
            throw error("field '" + name + "' must hold integer token ids, got " + n);
          }
          ids.add(e.asLong());
        }
      } else {
        throw error("field '" + name + "' must be a token id or a list of them, got " + n);
      }
      return ids;
    }

    RopeScaling ropeScaling() throws ModelFormatException {
      if (!has("rope_scaling")) {
        return RopeScaling.NONE;
      }
      JsonNode s = root.get("rope_scaling");
      String type = s.hasNonNull("rope_type") ? s.get("rope_type").asText() : s.path("type").asText("");
      if (type.equals("default")) {
        return RopeScaling.NONE;
      }
      if (!type.equals("linear") && !type.equals("llama3")) {
        throw error("rope_scaling type '" + type + "' is not supported (linear, llama3)");
      }
      double factor = positive(s, "factor");
      if (type.equals("linear")) {
        return RopeScaling.linear(factor);
      }
      double low = positive(s, "low_freq_factor");
      double high = positive(s, "high_freq_factor");
      if (high <= low) {
        throw error("rope_scaling.high_freq_factor " + high + " must exceed low_freq_factor " + low);
      }
      return RopeScaling.llama3(factor, low, high, (int) positive(s, "original_max_position_embeddings"));
    }

    private double positive(JsonNode scaling, String field) throws ModelFormatException {
      JsonNode n = scaling.get(field);
      if (n == null || !n.isNumber() || n.asDouble() <= 0) {
        throw error("rope_scaling." + field + " must be a positive number, got " + n);
      }
      return n.asDouble();
    }
  }
}

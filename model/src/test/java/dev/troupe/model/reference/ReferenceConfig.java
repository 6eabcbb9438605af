package dev.troupe.model.reference;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model's shape as the reference sees it, and the Hugging Face {@code config.json} it writes for
 * it, field by field as transformers' LlamaConfig, MistralConfig, Qwen2Config and GPT2Config name
 * them. Independent of the product's ModelConfig, which must read what this writes.
 *
 * @param attentionBias Llama's attention_bias: q, k, v and o projections carry a bias
 * @param mlpBias Llama's mlp_bias: gate, up and down carry a bias
 */
public record ReferenceConfig(
    Family family,
    int vocab,
    int hidden,
    int layers,
    int heads,
    int kvHeads,
    int intermediate,
    int maxPositions,
    double normEps,
    double ropeTheta,
    RopeScaling ropeScaling,
    boolean tiedEmbeddings,
    boolean attentionBias,
    boolean mlpBias) {

  /** The checkpoint families users load: three Llama-style ones and GPT-2. */
  public enum Family {
    LLAMA("llama", "LlamaForCausalLM"),
    MISTRAL("mistral", "MistralForCausalLM"),
    QWEN2("qwen2", "Qwen2ForCausalLM"),
    GPT2("gpt2", "GPT2LMHeadModel");

    final String modelType;
    final String architecture;

    Family(String modelType, String architecture) {
      this.modelType = modelType;
      this.architecture = architecture;
    }
  }

  /**
   * HF's rope_scaling: none, "linear" (positions divided by the factor) or "llama3" (Llama 3.1's
   * frequency-dependent rescaling, transformers' _compute_llama3_parameters).
   */
  public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
      int originalMaxPositions) {
    public static RopeScaling none() {
      return new RopeScaling("default", 1, 0, 0, 0);
    }

    public static RopeScaling linear(double factor) {
      return new RopeScaling("linear", factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
      return new RopeScaling("llama3", factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
    }
  }

  public int headDim() {
    return hidden / heads;
  }

  /** Llama 2 style: grouped-query attention (4 query heads over 2 kv heads), untied head. */
  public static ReferenceConfig llama() {
    return new ReferenceConfig(Family.LLAMA, 64, 32, 2, 4, 2, 64, 64, 1e-5, 10000, RopeScaling.none(),
        false, false, false);
  }

  /** Mistral: grouped-query attention, its own rms_norm_eps and rope_theta. */
  public static ReferenceConfig mistral() {
    return new ReferenceConfig(Family.MISTRAL, 64, 32, 2, 4, 1, 48, 64, 1e-6, 1e6, RopeScaling.none(),
        false, false, false);
  }

  /** Qwen2: q / k / v biases, no o bias, tied embeddings (as Qwen2.5-0.5B). */
  public static ReferenceConfig qwen2() {
    return new ReferenceConfig(Family.QWEN2, 64, 32, 2, 4, 2, 64, 64, 1e-6, 1e6, RopeScaling.none(),
        true, false, false);
  }

  /** GPT-2: learned positions, LayerNorm, fused Conv1D projections, gelu_new, tied head. */
  public static ReferenceConfig gpt2() {
    return new ReferenceConfig(Family.GPT2, 64, 32, 2, 4, 4, 128, 64, 1e-5, 0, RopeScaling.none(),
        true, true, true);
  }

  public ReferenceConfig withRopeScaling(RopeScaling scaling) {
    return new ReferenceConfig(family, vocab, hidden, layers, heads, kvHeads, intermediate, maxPositions, normEps,
        ropeTheta, scaling, tiedEmbeddings, attentionBias, mlpBias);
  }

  public ReferenceConfig withRopeTheta(double theta) {
    return new ReferenceConfig(family, vocab, hidden, layers, heads, kvHeads, intermediate, maxPositions, normEps,
        theta, ropeScaling, tiedEmbeddings, attentionBias, mlpBias);
  }

  public ReferenceConfig withTiedEmbeddings(boolean tied) {
    return new ReferenceConfig(family, vocab, hidden, layers, heads, kvHeads, intermediate, maxPositions, normEps,
        ropeTheta, ropeScaling, tied, attentionBias, mlpBias);
  }

  public ReferenceConfig withBiases(boolean attention, boolean mlp) {
    return new ReferenceConfig(family, vocab, hidden, layers, heads, kvHeads, intermediate, maxPositions, normEps,
        ropeTheta, ropeScaling, tiedEmbeddings, attention, mlp);
  }

  /** Whether q, k and v carry a bias: always for Qwen2 and GPT-2, with attention_bias for Llama. */
  public boolean qkvBias() {
    return family == Family.QWEN2 || family == Family.GPT2 || attentionBias;
  }

  /** Whether o_proj (GPT-2's attn.c_proj) carries a bias. */
  public boolean outputBias() {
    return family == Family.GPT2 || (family == Family.LLAMA && attentionBias);
  }

  /** Writes config.json as transformers' save_pretrained would for this family. */
  public void writeJson(Path file) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode o = json.createObjectNode();
    o.putArray("architectures").add(family.architecture);
    o.put("model_type", family.modelType);
    o.put("vocab_size", vocab);
    o.put("torch_dtype", "float32");
    o.put("tie_word_embeddings", tiedEmbeddings);
    if (family == Family.GPT2) {
      o.put("n_embd", hidden);
      o.put("n_layer", layers);
      o.put("n_head", heads);
      o.put("n_inner", intermediate);
      o.put("n_positions", maxPositions);
      o.put("n_ctx", maxPositions);
      o.put("layer_norm_epsilon", normEps);
      o.put("activation_function", "gelu_new");
      o.put("resid_pdrop", 0.1);
      o.put("scale_attn_weights", true);
      o.put("bos_token_id", 1);
      o.put("eos_token_id", 2);
    } else {
      o.put("hidden_size", hidden);
      o.put("num_hidden_layers", layers);
      o.put("num_attention_heads", heads);
      o.put("num_key_value_heads", kvHeads);
      o.put("intermediate_size", intermediate);
      o.put("max_position_embeddings", maxPositions);
      o.put("rms_norm_eps", normEps);
      o.put("rope_theta", ropeTheta);
      o.put("hidden_act", "silu");
      o.put("bos_token_id", 1);
      o.put("eos_token_id", 2);
      if (!ropeScaling.type().equals("default")) {
        ObjectNode s = o.putObject("rope_scaling");
        s.put("rope_type", ropeScaling.type());
        s.put("factor", ropeScaling.factor());
        if (ropeScaling.type().equals("llama3")) {
          s.put("low_freq_factor", ropeScaling.lowFreqFactor());
          s.put("high_freq_factor", ropeScaling.highFreqFactor());
          s.put("original_max_position_embeddings", ropeScaling.originalMaxPositions());
        }
      } else {
        o.putNull("rope_scaling");
      }
      switch (family) {
        case LLAMA -> {
          o.put("attention_bias", attentionBias);
          o.put("mlp_bias", mlpBias);
          o.put("head_dim", headDim());
        }
        case MISTRAL -> o.putNull("sliding_window");
        case QWEN2 -> {
          o.put("use_sliding_window", false);
          o.put("sliding_window", 4096);
          o.put("max_window_layers", layers);
        }
        default -> throw new IllegalStateException(family.name());
      }
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    json.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), o);
  }
}

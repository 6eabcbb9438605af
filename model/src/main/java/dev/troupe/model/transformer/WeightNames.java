package dev.troupe.model.transformer;

import dev.troupe.model.config.Architecture;
import java.util.List;

/**
 * Hugging Face's tensor names, one table per family: our modules use HF's paths as their names,
 * so loading, saving and PEFT's key names all come from here.
 */
public final class WeightNames {
  private WeightNames() {}

  /** One projection of a block: its path below the layer and whether HF stores it as Conv1D [in, out]. */
  record Projection(String path, boolean conv1d) {}

  static String embedding(Architecture a) {
    return a == Architecture.LLAMA ? "model.embed_tokens.weight" : "transformer.wte.weight";
  }

  static String positionEmbedding() {
    return "transformer.wpe.weight";
  }

  static String finalNorm(Architecture a) {
    return a == Architecture.LLAMA ? "model.norm" : "transformer.ln_f";
  }

  static String lmHead() {
    return "lm_head.weight";
  }

  static String layer(Architecture a, int index) {
    return (a == Architecture.LLAMA ? "model.layers." : "transformer.h.") + index;
  }

  static String attentionNorm(Architecture a) {
    return a == Architecture.LLAMA ? "input_layernorm" : "ln_1";
  }

  static String mlpNorm(Architecture a) {
    return a == Architecture.LLAMA ? "post_attention_layernorm" : "ln_2";
  }

  static final Projection LLAMA_Q = new Projection("self_attn.q_proj", false);
  static final Projection LLAMA_K = new Projection("self_attn.k_proj", false);
  static final Projection LLAMA_V = new Projection("self_attn.v_proj", false);
  static final Projection LLAMA_O = new Projection("self_attn.o_proj", false);
  static final Projection LLAMA_GATE = new Projection("mlp.gate_proj", false);
  static final Projection LLAMA_UP = new Projection("mlp.up_proj", false);
  static final Projection LLAMA_DOWN = new Projection("mlp.down_proj", false);
  static final Projection GPT2_QKV = new Projection("attn.c_attn", true);
  static final Projection GPT2_O = new Projection("attn.c_proj", true);
  static final Projection GPT2_FC = new Projection("mlp.c_fc", true);
  static final Projection GPT2_PROJ = new Projection("mlp.c_proj", true);

  /** Every projection of a block, in order (what LoRA targets are matched against). */
  public static List<String> projections(Architecture a) {
    return (a == Architecture.LLAMA
            ? List.of(LLAMA_Q, LLAMA_K, LLAMA_V, LLAMA_O, LLAMA_GATE, LLAMA_UP, LLAMA_DOWN)
            : List.of(GPT2_QKV, GPT2_O, GPT2_FC, GPT2_PROJ))
        .stream().map(Projection::path).toList();
  }

  /** Tensors that HF checkpoints may hold but that are buffers, not weights (rebuilt here). */
  static boolean isBuffer(String name) {
    return name.endsWith(".rotary_emb.inv_freq") || name.endsWith(".attn.bias") || name.endsWith(".attn.masked_bias");
  }

  /** GPT-2 checkpoints saved from GPT2Model lack the "transformer." prefix; give it back. */
  static String canonical(Architecture a, String name) {
    if (a == Architecture.GPT2 && !name.startsWith("transformer.") && !name.startsWith("lm_head.")) {
      return "transformer." + name;
    }
    return name;
  }

  /** PEFT's key for an adapter tensor: base_model.model.{module}.lora_A.weight, ...lora_magnitude_vector. */
  public static String peftKey(String modulePath, String tensor) {
    return "base_model.model." + modulePath + "." + tensor;
  }
}

package dev.troupe.model.reference;

import dev.troupe.model.reference.ReferenceConfig.Family;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Random weights under Hugging Face's names and shapes (Linear [out, in], GPT-2's Conv1D [in, out]),
 * with a realistic spread: N(0, 0.4) projections, N(0, 1) embeddings, norm weights N(1, 0.3),
 * biases N(0, 0.3). At the usual N(0, 0.02) attention is nearly uniform and logits are about 0.1,
 * so a RoPE, grouped-query or bias mistake hides inside a 1e-4 tolerance; at this spread it cannot.
 */
public final class ReferenceWeights {
  static final double PROJECTION_STD = 0.4;
  static final double EMBEDDING_STD = 1.0;
  static final double NORM_STD = 0.3;
  static final double BIAS_STD = 0.3;

  private ReferenceWeights() {}

  /** Every weight of a {@code config} model, in the order save_pretrained writes them. */
  public static Map<String, ReferenceTensor> random(ReferenceConfig config, long seed) {
    Draw draw = new Draw(new SplittableRandom(seed));
    Map<String, ReferenceTensor> w = new LinkedHashMap<>();
    int h = config.hidden();
    int hd = config.headDim();
    int inter = config.intermediate();
    if (config.family() == Family.GPT2) {
      w.put("transformer.wte.weight", draw.normal(0, EMBEDDING_STD, config.vocab(), h));
      w.put("transformer.wpe.weight", draw.normal(0, 0.3, config.maxPositions(), h));
      for (int i = 0; i < config.layers(); i++) {
        String p = "transformer.h." + i + ".";
        w.put(p + "ln_1.weight", draw.normal(1, NORM_STD, h));
        w.put(p + "ln_1.bias", draw.normal(0, BIAS_STD, h));
        w.put(p + "attn.c_attn.weight", draw.normal(0, PROJECTION_STD, h, 3 * h));
        w.put(p + "attn.c_attn.bias", draw.normal(0, BIAS_STD, 3 * h));
        w.put(p + "attn.c_proj.weight", draw.normal(0, PROJECTION_STD, h, h));
        w.put(p + "attn.c_proj.bias", draw.normal(0, BIAS_STD, h));
        w.put(p + "ln_2.weight", draw.normal(1, NORM_STD, h));
        w.put(p + "ln_2.bias", draw.normal(0, BIAS_STD, h));
        w.put(p + "mlp.c_fc.weight", draw.normal(0, PROJECTION_STD, h, inter));
        w.put(p + "mlp.c_fc.bias", draw.normal(0, BIAS_STD, inter));
        w.put(p + "mlp.c_proj.weight", draw.normal(0, PROJECTION_STD, inter, h));
        w.put(p + "mlp.c_proj.bias", draw.normal(0, BIAS_STD, h));
      }
      w.put("transformer.ln_f.weight", draw.normal(1, NORM_STD, h));
      w.put("transformer.ln_f.bias", draw.normal(0, BIAS_STD, h));
      if (!config.tiedEmbeddings()) {
        w.put("lm_head.weight", draw.normal(0, PROJECTION_STD, config.vocab(), h));
      }
      return w;
    }
    int q = config.heads() * hd;
    int kv = config.kvHeads() * hd;
    w.put("model.embed_tokens.weight", draw.normal(0, EMBEDDING_STD, config.vocab(), h));
    for (int i = 0; i < config.layers(); i++) {
      String p = "model.layers." + i + ".";
      w.put(p + "input_layernorm.weight", draw.normal(1, NORM_STD, h));
      linear(w, draw, p + "self_attn.q_proj", q, h, config.qkvBias());
      linear(w, draw, p + "self_attn.k_proj", kv, h, config.qkvBias());
      linear(w, draw, p + "self_attn.v_proj", kv, h, config.qkvBias());
      linear(w, draw, p + "self_attn.o_proj", h, q, config.outputBias());
      w.put(p + "post_attention_layernorm.weight", draw.normal(1, NORM_STD, h));
      linear(w, draw, p + "mlp.gate_proj", inter, h, config.mlpBias());
      linear(w, draw, p + "mlp.up_proj", inter, h, config.mlpBias());
      linear(w, draw, p + "mlp.down_proj", h, inter, config.mlpBias());
    }
    w.put("model.norm.weight", draw.normal(1, NORM_STD, h));
    if (!config.tiedEmbeddings()) {
      w.put("lm_head.weight", draw.normal(0, PROJECTION_STD, config.vocab(), h));
    }
    return w;
  }

  private static void linear(Map<String, ReferenceTensor> w, Draw draw, String path, int out, int in, boolean bias) {
    w.put(path + ".weight", draw.normal(0, PROJECTION_STD, out, in));
    if (bias) {
      w.put(path + ".bias", draw.normal(0, BIAS_STD, out));
    }
  }

  /** Every tensor rounded to what {@code type} stores: the weights a model read from such a file holds. */
  public static Map<String, ReferenceTensor> roundedTo(Map<String, ReferenceTensor> weights, StoredType type) {
    Map<String, ReferenceTensor> out = new LinkedHashMap<>();
    weights.forEach((name, t) -> out.put(name, t.roundedTo(type)));
    return out;
  }

  /**
   * GPT-2 weights named as the hub's original gpt2 checkpoint stores them: saved from GPT2Model, so
   * without the "transformer." prefix, and with each layer's causal-mask buffers attn.bias
   * [1, 1, n_positions, n_positions] and attn.masked_bias, which a loader must skip.
   */
  public static Map<String, ReferenceTensor> asHubGpt2(Map<String, ReferenceTensor> weights, ReferenceConfig config) {
    Map<String, ReferenceTensor> out = new LinkedHashMap<>();
    int p = config.maxPositions();
    double[] causal = new double[p * p];
    for (int r = 0; r < p; r++) {
      for (int c = 0; c <= r; c++) {
        causal[r * p + c] = 1;
      }
    }
    weights.forEach((name, t) -> {
      out.put(name.replaceFirst("^transformer\\.", ""), t);
      if (name.endsWith(".ln_1.weight")) {
        String layer = name.replaceFirst("^transformer\\.", "").replace(".ln_1.weight", "");
        out.put(layer + ".attn.bias", new ReferenceTensor(new long[] {1, 1, p, p}, causal.clone()));
        out.put(layer + ".attn.masked_bias", new ReferenceTensor(new long[] {}, new double[] {-1e4}));
      }
    });
    return out;
  }

  /** Seeded normal draws into tensors. */
  private record Draw(SplittableRandom random) {
    ReferenceTensor normal(double mean, double std, long... shape) {
      long size = 1;
      for (long d : shape) {
        size *= d;
      }
      double[] values = new double[Math.toIntExact(size)];
      for (int i = 0; i < values.length; i++) {
        values[i] = mean + std * random.nextGaussian();
      }
      return new ReferenceTensor(shape, values);
    }
  }
}

package dev.troupe.model.reference;

import dev.troupe.model.reference.ReferenceConfig.Family;
import dev.troupe.model.reference.ReferenceConfig.RopeScaling;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * An independent forward pass for tests: plain loops over double arrays, one sequence at a time, no
 * DJL, written from the papers and Hugging Face's modeling files rather than from {@code CausalLm}.
 *
 * <ul>
 *   <li>Llama / Mistral / Qwen2 (modeling_llama.py, modeling_mistral.py, modeling_qwen2.py):
 *       pre-norm blocks with RMSNorm (x / sqrt(mean(x²) + eps) · w, Zhang &amp; Sennrich 2019),
 *       rotary embeddings in the "rotate half" layout with inverse frequencies theta^(-2i/d) and
 *       rope_scaling linear or llama3 (Su et al. 2021; transformers' modeling_rope_utils.py),
 *       grouped-query attention where query head h reads key/value head h / (heads / kv_heads)
 *       (repeat_kv; Ainslie et al. 2023), SwiGLU MLP down(silu(gate(x)) · up(x)) (Shazeer 2020),
 *       q/k/v biases for Qwen2 or attention_bias, a tied or separate lm_head.
 *   <li>GPT-2 (modeling_gpt2.py): learned positions added to token embeddings, LayerNorm with bias,
 *       Conv1D projections stored [in, out] (y = x · W + b), c_attn split into q, k, v, the MLP's
 *       gelu_new 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the head tied to wte.
 * </ul>
 *
 * <p>{@link Mistake}s switch in one convention error at a time, to show that the tests' tolerance
 * sits far below what such an error moves.
 */
public final class ReferenceModel {
  /** Convention errors a loader or forward pass could make, for measuring how far each moves the logits. */
  public enum Mistake {
    /** Rotary pairs (2i, 2i+1) as in Meta's original complex form, instead of HF's halves (i, i + d/2). */
    INTERLEAVED_ROPE,
    /** Query head h reads kv head h mod kv_heads instead of h / group. */
    KV_HEAD_BY_MODULO,
    /** The q / k / v biases dropped. */
    NO_QKV_BIAS,
    /** rope_scaling ignored. */
    NO_ROPE_SCALING,
    /** rope_theta ignored for the default 10000. */
    DEFAULT_ROPE_THETA,
    /** GPT-2's MLP with the exact erf GELU instead of gelu_new's tanh approximation. */
    ERF_GELU
  }

  private final ReferenceConfig config;
  private final Map<String, ReferenceTensor> weights;
  private final Set<Mistake> mistakes;

  public ReferenceModel(ReferenceConfig config, Map<String, ReferenceTensor> weights) {
    this(config, weights, EnumSet.noneOf(Mistake.class));
  }

  private ReferenceModel(ReferenceConfig config, Map<String, ReferenceTensor> weights, Set<Mistake> mistakes) {
    this.config = config;
    this.weights = weights;
    this.mistakes = mistakes;
  }

  /** The same model computed with one convention error. */
  public ReferenceModel with(Mistake mistake) {
    return new ReferenceModel(config, weights, EnumSet.of(mistake));
  }

  public ReferenceConfig config() {
    return config;
  }

  /** Logits [T][vocab] of one sequence of token ids, positions 0 .. T-1. */
  public double[][] logits(long[] ids) {
    return config.family() == Family.GPT2 ? gpt2(ids) : llama(ids);
  }

  // ---- Llama, Mistral, Qwen2 ------------------------------------------------------------------

  private double[][] llama(long[] ids) {
    double[][] x = rows(weight("model.embed_tokens.weight"), ids);
    double[] invFreq = inverseFrequencies();
    for (int i = 0; i < config.layers(); i++) {
      String p = "model.layers." + i + ".";
      double[][] h = rmsNorm(x, weight(p + "input_layernorm.weight"));
      boolean qkvBias = !mistakes.contains(Mistake.NO_QKV_BIAS);
      double[][] q = linear(h, p + "self_attn.q_proj", qkvBias);
      double[][] k = linear(h, p + "self_attn.k_proj", qkvBias);
      double[][] v = linear(h, p + "self_attn.v_proj", qkvBias);
      rotate(q, config.heads(), invFreq);
      rotate(k, config.kvHeads(), invFreq);
      double[][] context = attention(q, k, v, config.heads(), config.kvHeads());
      add(x, linear(context, p + "self_attn.o_proj", true));

      h = rmsNorm(x, weight(p + "post_attention_layernorm.weight"));
      double[][] gate = linear(h, p + "mlp.gate_proj", true);
      double[][] up = linear(h, p + "mlp.up_proj", true);
      for (int t = 0; t < gate.length; t++) {
        for (int j = 0; j < gate[t].length; j++) {
          double g = gate[t][j];
          gate[t][j] = g / (1 + Math.exp(-g)) * up[t][j]; // silu(g) · up
        }
      }
      add(x, linear(gate, p + "mlp.down_proj", true));
    }
    x = rmsNorm(x, weight("model.norm.weight"));
    ReferenceTensor head = weights.containsKey("lm_head.weight") ? weight("lm_head.weight")
        : weight("model.embed_tokens.weight");
    return timesTransposed(x, head);
  }

  /** theta^(-2i/d) for i < d/2, rescaled as rope_scaling says. */
  double[] inverseFrequencies() {
    int d = config.headDim();
    double theta = mistakes.contains(Mistake.DEFAULT_ROPE_THETA) ? 10000 : config.ropeTheta();
    double[] inv = new double[d / 2];
    for (int i = 0; i < inv.length; i++) {
      inv[i] = 1.0 / Math.pow(theta, 2.0 * i / d);
    }
    RopeScaling s = config.ropeScaling();
    if (mistakes.contains(Mistake.NO_ROPE_SCALING) || s.type().equals("default")) {
      return inv;
    }
    if (s.type().equals("linear")) {
      for (int i = 0; i < inv.length; i++) {
        inv[i] /= s.factor();
      }
      return inv;
    }
    // llama3: long wavelengths divided by the factor, short ones kept, those between interpolated.
    double lowFreqWavelen = s.originalMaxPositions() / s.lowFreqFactor();
    double highFreqWavelen = s.originalMaxPositions() / s.highFreqFactor();
    for (int i = 0; i < inv.length; i++) {
      double wavelen = 2 * Math.PI / inv[i];
      if (wavelen > lowFreqWavelen) {
        inv[i] /= s.factor();
      } else if (wavelen >= highFreqWavelen) {
        double smooth = (s.originalMaxPositions() / wavelen - s.lowFreqFactor())
            / (s.highFreqFactor() - s.lowFreqFactor());
        inv[i] = (1 - smooth) * inv[i] / s.factor() + smooth * inv[i];
      }
    }
    return inv;
  }

  /** Rotary embedding of every head of x [T][heads · d] in place, token t at position t. */
  private void rotate(double[][] x, int heads, double[] invFreq) {
    int d = config.headDim();
    int half = d / 2;
    boolean interleaved = mistakes.contains(Mistake.INTERLEAVED_ROPE);
    for (int t = 0; t < x.length; t++) {
      for (int h = 0; h < heads; h++) {
        int base = h * d;
        for (int i = 0; i < half; i++) {
          double angle = t * invFreq[i];
          double cos = Math.cos(angle);
          double sin = Math.sin(angle);
          int a = interleaved ? base + 2 * i : base + i;
          int b = interleaved ? base + 2 * i + 1 : base + i + half;
          double first = x[t][a];
          double second = x[t][b];
          x[t][a] = first * cos - second * sin;
          x[t][b] = second * cos + first * sin;
        }
      }
    }
  }

  static double[][] rmsNorm(double[][] x, ReferenceTensor weight, double eps) {
    double[][] out = new double[x.length][];
    for (int t = 0; t < x.length; t++) {
      double meanSquare = 0;
      for (double v : x[t]) {
        meanSquare += v * v;
      }
      meanSquare /= x[t].length;
      double scale = 1 / Math.sqrt(meanSquare + eps);
      out[t] = new double[x[t].length];
      for (int j = 0; j < x[t].length; j++) {
        out[t][j] = x[t][j] * scale * weight.values()[j];
      }
    }
    return out;
  }

  private double[][] rmsNorm(double[][] x, ReferenceTensor weight) {
    return rmsNorm(x, weight, config.normEps());
  }

  // ---- GPT-2 ---------------------------------------------------------------------------------

  private double[][] gpt2(long[] ids) {
    double[][] x = rows(weight("transformer.wte.weight"), ids);
    ReferenceTensor wpe = weight("transformer.wpe.weight");
    for (int t = 0; t < x.length; t++) {
      for (int j = 0; j < x[t].length; j++) {
        x[t][j] += wpe.at(t, j);
      }
    }
    int hidden = config.hidden();
    for (int i = 0; i < config.layers(); i++) {
      String p = "transformer.h." + i + ".";
      double[][] h = layerNorm(x, p + "ln_1");
      double[][] qkv = conv1d(h, p + "attn.c_attn");
      double[][] q = new double[x.length][hidden];
      double[][] k = new double[x.length][hidden];
      double[][] v = new double[x.length][hidden];
      for (int t = 0; t < x.length; t++) {
        System.arraycopy(qkv[t], 0, q[t], 0, hidden);
        System.arraycopy(qkv[t], hidden, k[t], 0, hidden);
        System.arraycopy(qkv[t], 2 * hidden, v[t], 0, hidden);
      }
      add(x, conv1d(attention(q, k, v, config.heads(), config.heads()), p + "attn.c_proj"));

      h = layerNorm(x, p + "ln_2");
      double[][] inner = conv1d(h, p + "mlp.c_fc");
      for (double[] row : inner) {
        for (int j = 0; j < row.length; j++) {
          row[j] = mistakes.contains(Mistake.ERF_GELU) ? geluErf(row[j]) : geluNew(row[j]);
        }
      }
      add(x, conv1d(inner, p + "mlp.c_proj"));
    }
    x = layerNorm(x, "transformer.ln_f");
    ReferenceTensor head = weights.containsKey("lm_head.weight") ? weight("lm_head.weight")
        : weight("transformer.wte.weight");
    return timesTransposed(x, head);
  }

  static double geluNew(double x) {
    return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  }

  /** 0.5·x·(1 + erf(x/√2)), with erf from Abramowitz and Stegun 7.1.26 refined (error below 1e-7 is plenty here). */
  static double geluErf(double x) {
    double z = Math.abs(x) / Math.sqrt(2);
    double t = 1 / (1 + 0.3275911 * z);
    double erf = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592)
        * t * Math.exp(-z * z);
    return 0.5 * x * (1 + Math.signum(x) * erf);
  }

  /** LayerNorm over the last axis: (x − mean) / sqrt(var + eps) · w + b, var the population variance. */
  private double[][] layerNorm(double[][] x, String path) {
    ReferenceTensor w = weight(path + ".weight");
    ReferenceTensor b = weight(path + ".bias");
    double[][] out = new double[x.length][];
    for (int t = 0; t < x.length; t++) {
      double mean = 0;
      for (double v : x[t]) {
        mean += v;
      }
      mean /= x[t].length;
      double var = 0;
      for (double v : x[t]) {
        var += (v - mean) * (v - mean);
      }
      var /= x[t].length;
      double scale = 1 / Math.sqrt(var + config.normEps());
      out[t] = new double[x[t].length];
      for (int j = 0; j < x[t].length; j++) {
        out[t][j] = (x[t][j] - mean) * scale * w.values()[j] + b.values()[j];
      }
    }
    return out;
  }

  /** GPT-2's Conv1D: y = x · W + b with W stored [in, out]. */
  private double[][] conv1d(double[][] x, String path) {
    ReferenceTensor w = weight(path + ".weight");
    ReferenceTensor b = weight(path + ".bias");
    int in = w.rows();
    int out = w.columns();
    double[][] y = new double[x.length][out];
    for (int t = 0; t < x.length; t++) {
      for (int o = 0; o < out; o++) {
        double s = b.values()[o];
        for (int i = 0; i < in; i++) {
          s += x[t][i] * w.at(i, o);
        }
        y[t][o] = s;
      }
    }
    return y;
  }

  // ---- shared parts --------------------------------------------------------------------------

  /**
   * Causal softmax attention, scores scaled by 1/sqrt(d): query head h over kv head h / (heads /
   * kvHeads), for q [T][heads · d] and k, v [T][kvHeads · d]; returns [T][heads · d].
   */
  private double[][] attention(double[][] q, double[][] k, double[][] v, int heads, int kvHeads) {
    int d = config.headDim();
    int group = heads / kvHeads;
    int length = q.length;
    double[][] out = new double[length][heads * d];
    for (int h = 0; h < heads; h++) {
      int kvHead = mistakes.contains(Mistake.KV_HEAD_BY_MODULO) ? h % kvHeads : h / group;
      for (int t = 0; t < length; t++) {
        double[] scores = new double[t + 1];
        double max = Double.NEGATIVE_INFINITY;
        for (int s = 0; s <= t; s++) {
          double dot = 0;
          for (int j = 0; j < d; j++) {
            dot += q[t][h * d + j] * k[s][kvHead * d + j];
          }
          scores[s] = dot / Math.sqrt(d);
          max = Math.max(max, scores[s]);
        }
        double sum = 0;
        for (int s = 0; s <= t; s++) {
          scores[s] = Math.exp(scores[s] - max);
          sum += scores[s];
        }
        for (int s = 0; s <= t; s++) {
          double p = scores[s] / sum;
          for (int j = 0; j < d; j++) {
            out[t][h * d + j] += p * v[s][kvHead * d + j];
          }
        }
      }
    }
    return out;
  }

  /** A Linear layer, y = x · Wᵀ + b, W stored [out, in]; the bias when the checkpoint has one and {@code useBias}. */
  private double[][] linear(double[][] x, String path, boolean useBias) {
    double[][] y = timesTransposed(x, weight(path + ".weight"));
    ReferenceTensor b = weights.get(path + ".bias");
    if (b != null && useBias) {
      for (double[] row : y) {
        for (int o = 0; o < row.length; o++) {
          row[o] += b.values()[o];
        }
      }
    }
    return y;
  }

  /** x [T][in] · Wᵀ for W [out, in]. */
  private static double[][] timesTransposed(double[][] x, ReferenceTensor w) {
    int out = w.rows();
    int in = w.columns();
    double[][] y = new double[x.length][out];
    for (int t = 0; t < x.length; t++) {
      for (int o = 0; o < out; o++) {
        double s = 0;
        for (int i = 0; i < in; i++) {
          s += x[t][i] * w.values()[o * in + i];
        }
        y[t][o] = s;
      }
    }
    return y;
  }

  private static double[][] rows(ReferenceTensor table, long[] ids) {
    double[][] out = new double[ids.length][table.columns()];
    for (int t = 0; t < ids.length; t++) {
      System.arraycopy(table.values(), (int) ids[t] * table.columns(), out[t], 0, table.columns());
    }
    return out;
  }

  private static void add(double[][] x, double[][] y) {
    for (int t = 0; t < x.length; t++) {
      for (int j = 0; j < x[t].length; j++) {
        x[t][j] += y[t][j];
      }
    }
  }

  private ReferenceTensor weight(String name) {
    ReferenceTensor t = weights.get(name);
    if (t == null) {
      throw new IllegalArgumentException("the reference weights have no '" + name + "'");
    }
    return t;
  }
}

package dev.troupe.cli.bench;

import dev.troupe.model.config.ModelConfig;

/**
 * Model FLOPs per token, counted the way MFU is usually counted (Chowdhery et al. 2022, app. B):
 * 2 per weight in every matmul of the forward pass, plus attention's QKᵀ and AV over the context.
 */
final class Flops {
  private Flops() {}

  /** Weights that take part in a matmul per token: all projections and the LM head (embedding lookups excluded). */
  static double matmulParams(ModelConfig c) {
    double d = c.hiddenSize();
    double kv = (double) c.numKvHeads() * c.headDim();
    double perLayer = d * d * 2 + d * kv * 2 + 3 * d * c.intermediateSize();
    return c.numLayers() * perLayer + d * c.vocabSize();
  }

  /** Forward attention FLOPs per token at context length t: QKᵀ and AV over all t keys (masked ones are computed too). */
  static double attentionForward(ModelConfig c, int t) {
    return 4.0 * c.numLayers() * c.hiddenSize() * t;
  }

  /** Full fine-tuning: forward 2N, backward 4N (activation and weight gradients); attention ×3. */
  static double fullTrainPerToken(ModelConfig c, int t) {
    return 6 * matmulParams(c) + 3 * attentionForward(c, t);
  }

  /**
   * LoRA over a frozen base: forward 2N, backward 2N (activation gradients only, no weight
   * gradients for frozen weights); the rank-r matmuls are below 1% and left out.
   */
  static double loraTrainPerToken(ModelConfig c, int t) {
    return 4 * matmulParams(c) + 3 * attentionForward(c, t);
  }
}

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
    return trunkParams(c) + lmHeadParams(c);
  }

  /** The projections of every layer: what a pass to the last hidden state multiplies by. */
  static double trunkParams(ModelConfig c) {
    double d = c.hiddenSize();
    double kv = (double) c.numKvHeads() * c.headDim();
    double perLayer = d * d * 2 + d * kv * 2 + 3 * d * c.intermediateSize();
    return c.numLayers() * perLayer;
  }

  static double lmHeadParams(ModelConfig c) {
    return (double) c.hiddenSize() * c.vocabSize();
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

  /** Inference to the logits (log-probs of a policy or its reference): 2N + attention. */
  static double forwardPerToken(ModelConfig c, int t) {
    return 2 * matmulParams(c) + attentionForward(c, t);
  }

  /** Inference to the last hidden state only, no LM head: a reward model whose scalar head reads it. */
  static double trunkForwardPerToken(ModelConfig c, int t) {
    return 2 * trunkParams(c) + attentionForward(c, t);
  }

  /**
   * KV-cached sampling of {@code newTokens} per row after a {@code promptTokens} prompt, as the
   * Generator runs it: a prefill of the prompt (LM head at its last position only), then
   * newTokens − 1 one-token steps whose attention reads only the keys cached so far.
   */
  static double generate(ModelConfig c, int rows, int promptTokens, int newTokens) {
    double perRow = promptTokens * trunkForwardPerToken(c, promptTokens) + 2 * lmHeadParams(c);
    for (int context = promptTokens + 1; context < promptTokens + newTokens; context++) {
      perRow += forwardPerToken(c, context);
    }
    return rows * perRow;
  }
}

package dev.troupe.model.config;

/** The two transformer families Troupe runs: Llama-style (Llama, Mistral, Qwen2) and GPT-2. */
public enum Architecture {
  /** RMSNorm, RoPE, SwiGLU MLP, grouped-query attention, separate q/k/v/o projections. */
  LLAMA,
  /** LayerNorm with bias, learned positions, GELU (tanh) MLP, fused c_attn stored as Conv1D [in, out]. */
  GPT2
}

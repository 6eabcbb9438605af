package dev.troupe.actors.config;

/**
 * The frozen base every loop's adapter sits on: "quickstart" (the built-in tiny Llama) or a Hugging Face folder,
 * held in memory as fp32 or fp16, its linear weights optionally quantized (none, int8, nf4).
 */
public record BaseModel(String path, String dtype, String quantize) {}

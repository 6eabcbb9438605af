package dev.troupe.actors.config;

/** Where sampling loops get prompts: "quickstart" or a jsonl file of prompt rows, rendered in {@code format}. */
public record PromptSource(String source, String format) {}

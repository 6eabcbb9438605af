package dev.troupe.algorithms.dpo;

/** A tokenized preference: the prompt and the chosen and rejected continuations of it. */
public record DpoExample(long[] prompt, long[] chosen, long[] rejected) {}

package dev.troupe.algorithms.reward;

import java.util.Objects;

/**
 * One preference comparison as token ids (prompt and response together, already tokenized): the
 * rater preferred {@code chosen} over {@code rejected}, by {@code margin} (0 when the rater gave no
 * strength; Llama 2 uses larger margins for "significantly better" than for "slightly better").
 */
public record TokenPair(long[] chosen, long[] rejected, double margin) {
  public TokenPair {
    Objects.requireNonNull(chosen, "chosen");
    Objects.requireNonNull(rejected, "rejected");
    if (chosen.length == 0 || rejected.length == 0) {
      throw new IllegalArgumentException("chosen and rejected need at least one token each");
    }
    if (!Double.isFinite(margin)) {
      throw new IllegalArgumentException("margin must be finite, got " + margin);
    }
  }

  /** A pair without a preference strength (margin 0). */
  public static TokenPair of(long[] chosen, long[] rejected) {
    return new TokenPair(chosen, rejected, 0);
  }
}

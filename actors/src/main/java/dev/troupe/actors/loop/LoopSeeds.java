package dev.troupe.actors.loop;

import java.nio.charset.StandardCharsets;

/**
 * Each loop's randomness is its own, derived from the campaign's seed and the loop's name only, so
 * that loops running side by side, in any order or timing, draw exactly what they would alone.
 */
public final class LoopSeeds {
  private LoopSeeds() {}

  /** The loop's base seed: a 64-bit mix of the campaign seed and the loop name's bytes. */
  public static long of(long campaignSeed, String loop) {
    long h = campaignSeed * 0x9E3779B97F4A7C15L;
    for (byte b : loop.getBytes(StandardCharsets.UTF_8)) {
      h = (h ^ b) * 0x100000001B3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    return h & Long.MAX_VALUE;
  }

  /** The adapter's initial weights. */
  public static long adapter(long campaignSeed, String loop) {
    return of(campaignSeed, loop) ^ 0x5DEECE66DL;
  }

  /** The sampling seed of batch {@code batch} (and of a refill {@code attempt} of it). */
  public static long batch(long campaignSeed, String loop, long batch, int attempt) {
    return of(campaignSeed, loop) + 1_000_003L * batch + attempt;
  }
}

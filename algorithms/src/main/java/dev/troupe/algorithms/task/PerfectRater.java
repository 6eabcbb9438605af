package dev.troupe.algorithms.task;

import java.util.SplittableRandom;

/**
 * A rater that always prefers the response with the higher gold score; equal scores are ordered by a seeded
 * coin and reported as ties (strength 0). Not thread-safe: the coin is one stream.
 */
public final class PerfectRater implements Rater {
  private final GoldScorer gold = new GoldScorer();
  private final SplittableRandom coin;

  public PerfectRater(long seed) {
    this.coin = new SplittableRandom(seed);
  }

  @Override
  public Label label(TaskPrompt prompt, String first, String second) {
    double a = gold.score(prompt, first);
    double b = gold.score(prompt, second);
    boolean firstWins = a > b || (a == b && coin.nextBoolean());
    return firstWins ? new Label(first, second, Math.abs(a - b)) : new Label(second, first, Math.abs(a - b));
  }
}

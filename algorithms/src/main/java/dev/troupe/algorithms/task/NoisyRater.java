package dev.troupe.algorithms.task;

import java.util.SplittableRandom;

/**
 * A {@link PerfectRater} whose every label is swapped, independently, with probability {@code flipFraction}: a
 * rater who errs as often on easy pairs as on close ones. A swapped label keeps its strength, since the rater
 * does not know it erred. Not thread-safe.
 */
public final class NoisyRater implements Rater {
  // Its own stream, so that ties' coin tosses do not shift which labels flip.
  private static final long FLIP_STREAM = 0x632BE59BD9B4E019L;

  private final double flipFraction;
  private final PerfectRater perfect;
  private final SplittableRandom flips;

  public NoisyRater(double flipFraction, long seed) {
    if (!(flipFraction >= 0 && flipFraction <= 1)) {
      throw new IllegalArgumentException("flipFraction must be in [0, 1], got " + flipFraction);
    }
    this.flipFraction = flipFraction;
    this.perfect = new PerfectRater(seed);
    this.flips = new SplittableRandom(seed ^ FLIP_STREAM);
  }

  @Override
  public Label label(TaskPrompt prompt, String first, String second) {
    Label label = perfect.label(prompt, first, second);
    return flips.nextDouble() < flipFraction ? new Label(label.rejected(), label.chosen(), label.strength()) : label;
  }

  public double flipFraction() {
    return flipFraction;
  }
}

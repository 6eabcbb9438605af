package dev.troupe.algorithms.optim;

/**
 * The learning rate as a function of the optimizer step (0-based: the rate for the first update is
 * {@code lr(0)}), passed to {@link AdamW#step(double)} each step. Shapes follow Hugging Face
 * transformers' {@code get_cosine_schedule_with_warmup} / {@code get_linear_schedule_with_warmup}.
 */
@FunctionalInterface
public interface LrSchedule {

  double lr(long step);

  /** The same rate at every step. */
  static LrSchedule constant(double lr) {
    requireNonNegative("lr", lr);
    return step -> lr;
  }

  /**
   * Linear warm-up from 0 to {@code peak} over {@code warmupSteps} (rate peak·s/warmupSteps at
   * step s, so step 0 has rate 0, as in transformers), then a half cosine from {@code peak} down
   * to {@code minLr} at {@code totalSteps}, and {@code minLr} after it.
   */
  static LrSchedule linearWarmupCosine(double peak, long warmupSteps, long totalSteps, double minLr) {
    checkSteps(warmupSteps, totalSteps);
    requireNonNegative("peak", peak);
    requireNonNegative("minLr", minLr);
    if (minLr > peak) {
      throw new IllegalArgumentException("minLr " + minLr + " exceeds the peak " + peak);
    }
    return step -> {
      if (step < warmupSteps) {
        return peak * step / warmupSteps;
      }
      if (step >= totalSteps) {
        return minLr;
      }
      double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
      return minLr + (peak - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
    };
  }

  /** Linear warm-up from 0 to {@code peak} over {@code warmupSteps}, then linear decay to 0 at {@code totalSteps}. */
  static LrSchedule linearWarmupLinearDecay(double peak, long warmupSteps, long totalSteps) {
    checkSteps(warmupSteps, totalSteps);
    requireNonNegative("peak", peak);
    return step -> {
      if (step < warmupSteps) {
        return peak * step / warmupSteps;
      }
      if (step >= totalSteps) {
        return 0.0;
      }
      return peak * (double) (totalSteps - step) / (totalSteps - warmupSteps);
    };
  }

  private static void checkSteps(long warmupSteps, long totalSteps) {
    if (warmupSteps < 0 || totalSteps <= 0 || warmupSteps > totalSteps) {
      throw new IllegalArgumentException("need 0 <= warmupSteps <= totalSteps and totalSteps > 0, got warmup "
          + warmupSteps + ", total " + totalSteps);
    }
  }

  private static void requireNonNegative(String name, double value) {
    if (!(value >= 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(name + " must be a finite number >= 0, got " + value);
    }
  }
}

package dev.troupe.algorithms.optim;

/**
 * How every trainer optimizes: AdamW at a learning rate (constant, or following a schedule over the
 * trainer's updates), gradient clipping, and the micro-batches one step's batch is split into.
 *
 * @param maxGradNorm global-norm clipping before each update; 0 switches it off
 * @param gradientAccumulationSteps micro-batches per step (trainers whose step is one batch: SFT,
 *     reward model, DPO family); PPO and GRPO take one update per minibatch instead and require 1
 * @param schedule the learning rate by update index; null: {@code lr} throughout
 */
public record OptimizerSettings(double lr, double maxGradNorm, double weightDecay, int gradientAccumulationSteps,
    LrSchedule schedule) {

  public OptimizerSettings {
    if (!(lr >= 0) || Double.isInfinite(lr)) {
      throw new IllegalArgumentException("lr must be a finite number >= 0, got " + lr);
    }
    if (!(maxGradNorm >= 0)) {
      throw new IllegalArgumentException("maxGradNorm must be >= 0 (0: no clipping), got " + maxGradNorm);
    }
    if (gradientAccumulationSteps < 1) {
      throw new IllegalArgumentException("gradientAccumulationSteps must be >= 1, got " + gradientAccumulationSteps);
    }
  }

  /** AdamW at {@code lr}, clipping at global norm 1, no decay, no accumulation, no schedule. */
  public static OptimizerSettings of(double lr) {
    return new OptimizerSettings(lr, 1.0, 0.0, 1, null);
  }

  public OptimizerSettings withMaxGradNorm(double norm) {
    return new OptimizerSettings(lr, norm, weightDecay, gradientAccumulationSteps, schedule);
  }

  public OptimizerSettings withGradientAccumulation(int steps) {
    return new OptimizerSettings(lr, maxGradNorm, weightDecay, steps, schedule);
  }

  public OptimizerSettings withSchedule(LrSchedule s) {
    return new OptimizerSettings(lr, maxGradNorm, weightDecay, gradientAccumulationSteps, s);
  }

  public OptimizerSettings withWeightDecay(double wd) {
    return new OptimizerSettings(lr, maxGradNorm, wd, gradientAccumulationSteps, schedule);
  }

  /**
   * These settings at another rate: {@code lr} becomes {@code peakLr}, and a schedule keeps its shape
   * scaled by peakLr / lr (warm-up and decay at the same updates). How a second optimizer in the
   * same trainer (PPO's critic) follows the first one's schedule at a rate of its own.
   */
  public OptimizerSettings withPeakLr(double peakLr) {
    if (!(peakLr >= 0) || Double.isInfinite(peakLr)) {
      throw new IllegalArgumentException("lr must be a finite number >= 0, got " + peakLr);
    }
    if (schedule == null) {
      return new OptimizerSettings(peakLr, maxGradNorm, weightDecay, gradientAccumulationSteps, null);
    }
    if (lr == 0) {
      throw new IllegalArgumentException("cannot rescale a schedule whose peak rate is 0 to " + peakLr);
    }
    LrSchedule base = schedule;
    double factor = peakLr / lr;
    return new OptimizerSettings(peakLr, maxGradNorm, weightDecay, gradientAccumulationSteps,
        step -> base.lr(step) * factor);
  }

  /** The learning rate of update {@code index} (0-based). */
  public double lrAt(long index) {
    return schedule == null ? lr : schedule.lr(index);
  }

  /** AdamW over {@code params} with these settings. */
  public AdamW newAdamW(java.util.List<ai.djl.ndarray.NDArray> params) {
    return new AdamW(params, AdamW.AdamWConfig.defaults().withLr(lr).withWeightDecay(weightDecay));
  }

  /** Clips (when configured) and applies one update for a batch whose loss is {@code loss}. */
  public AdamW.StepResult step(AdamW optimizer, double loss) {
    if (maxGradNorm > 0) {
      optimizer.clipGradNorm(maxGradNorm);
    }
    return optimizer.step(lrAt(optimizer.stepCount() + optimizer.skippedSteps()), loss);
  }
}

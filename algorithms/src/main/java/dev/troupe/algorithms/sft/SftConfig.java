package dev.troupe.algorithms.sft;

/**
 * Supervised fine-tuning settings.
 *
 * @param maskPrompt learn only the completion tokens (the loss skips the prompt)
 * @param packing concatenate examples into rows of {@code packLength} tokens (no padding waste);
 *     as in TRL's default packing, an example may attend to the one before it in its row
 * @param evalEvery validation loss every this many steps (0 = never)
 * @param patience stop after this many validations without improvement; the best weights are restored
 * @param batchSize rows per micro-batch (one forward and backward)
 * @param gradientAccumulationSteps micro-batches per optimizer step: each step learns from
 *     batchSize × gradientAccumulationSteps rows, the gradient of their mean loss over target tokens
 */
public record SftConfig(int steps, int batchSize, int gradientAccumulationSteps, double lr, int warmupSteps,
    double weightDecay, double maxGradNorm, boolean maskPrompt, boolean packing, int packLength, int evalEvery,
    int patience, long seed) {

  public SftConfig {
    require(steps > 0, "steps must be positive, got " + steps);
    require(batchSize > 0, "batch-size must be positive, got " + batchSize);
    require(gradientAccumulationSteps > 0,
        "optim.gradient-accumulation-steps must be positive, got " + gradientAccumulationSteps);
    require(lr > 0, "optim.lr must be positive, got " + lr);
    require(warmupSteps >= 0 && warmupSteps <= steps, "optim.warmup-steps must be in [0, steps], got " + warmupSteps);
    require(!packing || packLength > 1, "sft.pack-length must be > 1 when packing, got " + packLength);
    require(evalEvery >= 0, "eval-every must be >= 0, got " + evalEvery);
    require(patience > 0, "sft.patience must be positive, got " + patience);
  }

  /**
   * The optimizer settings every trainer takes: AdamW at {@code lr} with linear warm-up over
   * {@code warmupSteps} and a cosine decay to lr/10 at {@code steps}, decay, clipping and micro-batches.
   */
  public dev.troupe.algorithms.optim.OptimizerSettings optimizer() {
    return new dev.troupe.algorithms.optim.OptimizerSettings(lr, maxGradNorm, weightDecay, gradientAccumulationSteps,
        dev.troupe.algorithms.optim.LrSchedule.linearWarmupCosine(lr, warmupSteps, steps, lr / 10));
  }

  public static SftConfig defaults(int steps, double lr) {
    return new SftConfig(steps, 16, 1, lr, Math.min(steps, Math.max(1, steps / 20)), 0.0, 1.0, true, false, 128,
        0, 3, 1);
  }

  public SftConfig withBatchSize(int b) {
    return new SftConfig(steps, b, gradientAccumulationSteps, lr, warmupSteps, weightDecay, maxGradNorm, maskPrompt, packing, packLength, evalEvery, patience, seed);
  }

  public SftConfig withGradientAccumulation(int microBatches) {
    return new SftConfig(steps, batchSize, microBatches, lr, warmupSteps, weightDecay, maxGradNorm, maskPrompt, packing, packLength, evalEvery, patience, seed);
  }

  public SftConfig withMaskPrompt(boolean mask) {
    return new SftConfig(steps, batchSize, gradientAccumulationSteps, lr, warmupSteps, weightDecay, maxGradNorm, mask, packing, packLength, evalEvery, patience, seed);
  }

  public SftConfig withPacking(int length) {
    return new SftConfig(steps, batchSize, gradientAccumulationSteps, lr, warmupSteps, weightDecay, maxGradNorm, maskPrompt, true, length, evalEvery, patience, seed);
  }

  public SftConfig withEvaluation(int every, int patienceEvals) {
    return new SftConfig(steps, batchSize, gradientAccumulationSteps, lr, warmupSteps, weightDecay, maxGradNorm, maskPrompt, packing, packLength, every, patienceEvals, seed);
  }

  public SftConfig withSeed(long s) {
    return new SftConfig(steps, batchSize, gradientAccumulationSteps, lr, warmupSteps, weightDecay, maxGradNorm, maskPrompt, packing, packLength, evalEvery, patience, s);
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}

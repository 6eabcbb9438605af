/**
 * Optimizers and learning-rate schedules for the learners: {@link dev.troupe.algorithms.optim.AdamW}
 * (which also refuses a step whose loss or gradient is not finite) and
 * {@link dev.troupe.algorithms.optim.LrSchedule}.
 *
 * <p>A training step, with gradient accumulation over N micro-batches:
 * <pre>{@code
 * for (Batch micro : microBatches) {                    // N of them
 *   try (NDManager step = root.newSubManager(); GradMode g = GradMode.enabled()) {
 *     NDArray loss = lossOf(model, micro).div(N);        // scale by 1/N: .grad accumulates
 *     GradMode.backward(loss);
 *   }
 * }
 * optimizer.clipGradNorm(1.0);                           // optional
 * StepResult r = optimizer.step(schedule.lr(optimizer.stepCount()));   // also zeroes .grad
 * }</pre>
 * Backward adds into .grad (PyTorch semantics), so N backwards of loss/N leave the gradient of the
 * whole batch's mean loss (when every micro-batch has the same number of loss terms). The trainers
 * do this for you ({@code gradientAccumulationSteps} of SFT, the reward model and DPO), scaling each
 * micro-batch by its share of the loss terms ({@link dev.troupe.algorithms.optim.MicroBatches}), so
 * micro-batches of unequal size or token count still give exactly the whole batch's gradient.
 */
package dev.troupe.algorithms.optim;

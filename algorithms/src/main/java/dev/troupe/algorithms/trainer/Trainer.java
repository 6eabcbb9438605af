package dev.troupe.algorithms.trainer;

import dev.troupe.model.lora.Adapter;
import dev.troupe.protocol.TrainerState;

/**
 * What every adapter trainer (PPO, GRPO / RLOO, DPO family) offers a learner: the adapter it
 * trains, its updates so far, and its whole state beyond the adapter as bytes, to checkpoint and
 * to resume exactly. Each takes an {@code OptimizerSettings} and reports {@code Metrics} under
 * {@code MetricNames}; closing it frees the optimizer and heads, not the adapter.
 */
public interface Trainer extends AutoCloseable {

  Adapter adapter();

  /** Optimizer updates applied (refused ones excluded). */
  long updates();

  /** Optimizer moments, heads, controllers and counters: with the adapter, all a resume needs. */
  TrainerState state();

  /** Restores what {@link #state()} returned from a trainer of the same configuration. */
  void restore(TrainerState state);

  @Override
  void close();
}

package dev.troupe.actors.campaign;

import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.protocol.LoopStatus;

/** What a running campaign tells whoever watches it (the CLI's progress bars, a test); called from actor threads. */
public interface CampaignEvents {
  /** A setup phase ("sft", "rm", "pairs") begins, with the steps it will take (0: unknown). */
  default void phaseStarted(String phase, long plannedSteps) {}

  default void phaseStep(String phase, Metrics metrics) {}

  default void loopStarted(LoopStatus status) {}

  /** A loop finished a training step (status.step) with these metrics. */
  default void loopStep(LoopStatus status) {}

  default void loopFinished(LoopStatus status) {}

  /**
   * Every policy worker serves the version a loop's learner made: {@code millis} after the learner's step
   * ended (the adapter's tensors went to each worker meanwhile).
   */
  default void adapterPublished(String loop, long version, long millis) {}

  /** Something a user should see: a judge that does not answer, a corrupt checkpoint skipped. */
  default void notice(String message) {}

  CampaignEvents NONE = new CampaignEvents() {};
}

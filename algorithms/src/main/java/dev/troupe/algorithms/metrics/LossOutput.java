package dev.troupe.algorithms.metrics;

import ai.djl.ndarray.NDArray;
import java.util.Objects;

/**
 * What a loss function returns: the scalar to back-propagate and its statistics, already read out
 * as doubles.
 *
 * @param loss scalar fp32, differentiable when its inputs were computed under grad mode; owned by
 *     the manager of the loss function's first tensor argument
 */
public record LossOutput(NDArray loss, Metrics metrics) {
  public LossOutput {
    Objects.requireNonNull(loss, "loss");
    Objects.requireNonNull(metrics, "metrics");
  }
}

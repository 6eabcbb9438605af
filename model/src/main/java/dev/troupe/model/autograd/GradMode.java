package dev.troupe.model.autograd;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's grad mode, per thread, as a scope that restores the previous mode on close.
 *
 * <p>DJL's own {@code GradientCollector} for PyTorch allows one collector in the whole JVM at a time
 * (a static flag), which would serialise every learner of a campaign; PyTorch's grad mode itself is
 * thread-local, so concurrent loops each train on their own thread through this class instead.
 */
public final class GradMode implements AutoCloseable {
  private final boolean previous;

  private GradMode(boolean enabled) {
    previous = JniUtils.isGradMode();
    JniUtils.setGradMode(enabled);
  }

  /** Records operations for backward on this thread until closed. */
  public static GradMode enabled() {
    return new GradMode(true);
  }

  /** Inference: no graph is built (generation, reference log-probs, evaluation). */
  public static GradMode disabled() {
    return new GradMode(false);
  }

  /** Back-propagates a scalar loss into the .grad of every leaf that requires a gradient. */
  public static void backward(NDArray scalarLoss) {
    if (scalarLoss.getShape().size() != 1) {
      throw new IllegalArgumentException("backward needs a scalar loss, got shape " + scalarLoss.getShape());
    }
    try (NDArray seed = scalarLoss.onesLike()) {
      JniUtils.backward((PtNDArray) scalarLoss, (PtNDArray) seed, false, false);
    }
  }

  /** Clears the accumulated gradient of a leaf (no-op when it has none yet). */
  public static void zeroGradient(NDArray leaf) {
    if (leaf.hasGradient()) {
      JniUtils.zeroGrad((PtNDArray) leaf);
    }
  }

  @Override
  public void close() {
    JniUtils.setGradMode(previous);
  }
}

package dev.troupe.model.autograd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The few tensor ops the model needs whose result must belong to the activation's manager, not the
 * weight's: DJL attaches a result to its first operand's manager, so {@code w.transpose()} on a
 * long-lived weight would leak into the weight's manager on every call.
 */
public final class Ops {
  private Ops() {}

  /** x · Wᵀ + b over the last axis (torch.nn.functional.linear); the result belongs to x's manager. */
  public static NDArray linear(NDArray x, NDArray weight, NDArray bias) {
    return JniUtils.linear((PtNDArray) x, (PtNDArray) weight, (PtNDArray) bias);
  }

  /** Rows of {@code table} picked by integer {@code ids}; the result belongs to ids' manager. */
  public static NDArray embedding(NDArray ids, NDArray table) {
    return JniUtils.embedding((PtNDArray) ids, (PtNDArray) table, false);
  }

  /**
   * A contiguous copy of {@code source} as {@code type}, owned by {@code into}. {@code toType} would
   * attach its result to the source's (long-lived) manager, may return the source itself, and keeps
   * a transposed view's strides.
   */
  public static NDArray copyInto(NDArray source, DataType type, NDManager into) {
    return into.zeros(source.getShape(), type).addi(source);
  }
}

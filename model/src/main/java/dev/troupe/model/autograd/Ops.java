package dev.troupe.model.autograd;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.engine.PtNDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.function.BinaryOperator;

/**
 * The few tensor ops the model needs that DJL gets wrong for training.
 *
 * <p>Manager ownership: DJL attaches a result to its first operand's manager, so {@code
 * w.transpose()} on a long-lived weight would leak into the weight's manager on every call.
 *
 * <p>Scalar operands: DJL's {@code mul(Number)}, {@code div(Number)}, {@code pow(Number)}, {@code
 * maximum(Number)} and {@code minimum(Number)} wrap the number in a tensor over a Java direct buffer
 * ({@code torch::from_blob}) and close it on return. Autograd keeps that tensor for backward (the
 * gradient of {@code x * s} is {@code grad * s}), but once the garbage collector frees the buffer
 * backward reads freed memory: a gradient that differs run to run, sometimes NaN or 1e37, while the
 * forward pass is exact. The overloads here take the number as a tensor torch allocated itself.
 * {@code NumberOperandAuditTest} keeps DJL's overloads out of the project's code.
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

  /** x · s. */
  public static NDArray mul(NDArray x, double s) {
    return withScalar(x, s, NDArray::mul);
  }

  /** x ← x · s, in place; returns x. */
  public static NDArray muli(NDArray x, double s) {
    return withScalar(x, s, NDArray::muli);
  }

  /** x / s. */
  public static NDArray div(NDArray x, double s) {
    return withScalar(x, s, NDArray::div);
  }

  /** x ← x / s, in place; returns x. */
  public static NDArray divi(NDArray x, double s) {
    return withScalar(x, s, NDArray::divi);
  }

  /** x raised to the power s, elementwise. */
  public static NDArray pow(NDArray x, double s) {
    return withScalar(x, s, NDArray::pow);
  }

  /** max(x, s), elementwise. */
  public static NDArray maximum(NDArray x, double s) {
    return withScalar(x, s, NDArray::maximum);
  }

  /** min(x, s), elementwise. */
  public static NDArray minimum(NDArray x, double s) {
    return withScalar(x, s, NDArray::minimum);
  }

  /** op(x, s) with s as a tensor torch owns, closed on return (autograd keeps its own reference). */
  private static NDArray withScalar(NDArray x, double s, BinaryOperator<NDArray> op) {
    try (NDArray scalar = scalarLike(x, s)) {
      return op.apply(x, scalar);
    }
  }

  /** A 0-d tensor holding s, of x's type and device, in memory torch owns (see the class comment). */
  private static NDArray scalarLike(NDArray x, double s) {
    return JniUtils.full((PtNDManager) x.getManager(), new Shape(), s, x.getDataType(), x.getDevice(),
        SparseFormat.DENSE);
  }
}

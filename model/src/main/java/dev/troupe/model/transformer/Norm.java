package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/** RMSNorm (Llama: no bias, no mean subtraction) or LayerNorm (GPT-2), computed in fp32. */
final class Norm implements AutoCloseable {
  private final NDArray weight;
  private final NDArray bias; // null for RMSNorm
  private final float eps;

  Norm(NDArray weight, NDArray bias, double eps) {
    this.weight = weight;
    this.bias = bias;
    this.eps = (float) eps;
  }

  NDArray weight() {
    return weight;
  }

  NDArray bias() {
    return bias;
  }

  NDArray forward(NDArray x) {
    DataType dtype = x.getDataType();
    NDArray x32 = x.toType(DataType.FLOAT32, false);
    NDArray y;
    if (bias == null) {
      NDArray rms = x32.square().mean(new int[] {-1}, true).addi(eps).sqrt();
      y = x32.div(rms).muli(weight);
    } else {
      y = JniUtils.layerNorm((PtNDArray) x32, new Shape(weight.getShape().get(0)),
          (PtNDArray) weight, (PtNDArray) bias, eps);
    }
    return y.toType(dtype, false);
  }

  @Override
  public void close() {
    weight.close();
    if (bias != null) {
      bias.close();
    }
  }
}

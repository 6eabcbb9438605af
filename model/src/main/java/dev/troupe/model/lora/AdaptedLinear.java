package dev.troupe.model.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.model.quant.DenseWeight;
import dev.troupe.model.quant.FrozenWeight;

/**
 * A linear layer of the frozen base (dense or quantized weight, optional bias) that applies
 * whichever adapter the current request names, or none: "no adapter" is the reference policy.
 */
public final class AdaptedLinear implements AutoCloseable {
  private final String path;
  private final FrozenWeight weight;
  private final NDArray bias;

  /** {@code path} is the HF module path (model.layers.0.self_attn.q_proj); bias may be null. */
  public AdaptedLinear(String path, FrozenWeight weight, NDArray bias) {
    this.path = path;
    this.weight = weight;
    this.bias = bias;
  }

  public String path() {
    return path;
  }

  public FrozenWeight weight() {
    return weight;
  }

  public NDArray bias() {
    return bias;
  }

  /** y = x·Wᵀ (+ the adapter's update) + b; the result belongs to x's manager. */
  public NDArray forward(NDArray x, Adapter adapter, boolean training) {
    NDArray y = weight.apply(x);
    LoraLayer lora = adapter == null ? null : adapter.layer(path);
    if (lora != null) {
      y = lora.apply(x, y, weight, training);
    }
    return bias == null ? y : y.addi(bias);
  }

  /** y = x·Wᵀ (+ each row's adapter update) + b, the base product computed once for every row. */
  public NDArray forward(NDArray x, RowAdapters adapters, boolean training) {
    NDArray y = adapters.adapt(path, x, weight.apply(x), weight, training);
    return bias == null ? y : y.addi(bias);
  }

  /** Adds (sign +1) or removes (sign -1) an adapter's update into the dense base weight, in place. */
  void mergeInPlace(LoraLayer lora, int sign) {
    if (!(weight instanceof DenseWeight dense)) {
      throw new IllegalStateException(path + ": cannot merge an adapter into a "
          + weight.quantization() + " base weight; load the base unquantized to merge");
    }
    if (lora.isDora()) {
      throw new IllegalStateException(path + ": merging DoRA adapters is not supported; serve them unmerged");
    }
    try (NDManager scratch = dense.array().getManager().newSubManager()) {
      NDArray delta = lora.deltaWeight(scratch).toType(dense.array().getDataType(), false);
      if (sign > 0) {
        dense.array().addi(delta);
      } else {
        dense.array().subi(delta);
      }
    }
  }

  @Override
  public void close() {
    weight.close();
    if (bias != null) {
      bias.close();
    }
  }
}

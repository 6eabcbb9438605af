package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.lora.AdaptedLinear;
import dev.troupe.model.autograd.Ops;

/**
 * Causal self-attention with grouped-query heads: queries of a group share one key/value head,
 * done by folding the group into the query axis so keys are never copied per head.
 */
final class Attention implements AutoCloseable {
  private final ModelConfig config;
  private final int layer;
  private final AdaptedLinear q; // null when GPT-2's fused qkv is used
  private final AdaptedLinear k;
  private final AdaptedLinear v;
  private final AdaptedLinear qkv; // GPT-2's c_attn
  private final AdaptedLinear o;

  Attention(ModelConfig config, int layer, AdaptedLinear q, AdaptedLinear k, AdaptedLinear v,
      AdaptedLinear qkv, AdaptedLinear o) {
    this.config = config;
    this.layer = layer;
    this.q = q;
    this.k = k;
    this.v = v;
    this.qkv = qkv;
    this.o = o;
  }

  NDArray forward(NDArray x, Pass pass) {
    long b = x.getShape().get(0);
    long t = x.getShape().get(1);
    int heads = config.numHeads();
    int kvHeads = config.numKvHeads();
    int hd = config.headDim();
    NDArray query;
    NDArray key;
    NDArray value;
    if (qkv != null) {
      NDList parts = qkv.forward(x, pass.adapters(), pass.training()).split(3, 2);
      query = parts.get(0);
      key = parts.get(1);
      value = parts.get(2);
    } else {
      query = q.forward(x, pass.adapters(), pass.training());
      key = k.forward(x, pass.adapters(), pass.training());
      value = v.forward(x, pass.adapters(), pass.training());
    }
    query = query.reshape(b, t, heads, hd).transpose(0, 2, 1, 3);
    key = key.reshape(b, t, kvHeads, hd).transpose(0, 2, 1, 3);
    value = value.reshape(b, t, kvHeads, hd).transpose(0, 2, 1, 3);
    if (pass.rope() != null) {
      query = pass.rope().apply(query, pass.ropeTables());
      key = pass.rope().apply(key, pass.ropeTables());
    }
    int keyLength = pass.past() + (int) t;
    if (pass.cache() != null) {
      pass.cache().write(layer, key, value);
      key = pass.cache().keys(layer, keyLength, pass.step());
      value = pass.cache().values(layer, keyLength, pass.step());
    }
    int group = heads / kvHeads;
    // [B, kv, group, T, hd] x [B, kv, 1, hd, S] -> [B, kv, group, T, S]
    NDArray q5 = query.reshape(b, kvHeads, group, t, hd);
    NDArray logits = q5.matMul(key.expandDims(2).transpose(0, 1, 2, 4, 3)).toType(DataType.FLOAT32, false);
    NDArray scores = Ops.muli(logits, 1.0 / Math.sqrt(hd)).addi(pass.attentionBias());
    NDArray weights = scores.softmax(-1).toType(value.getDataType(), false);
    NDArray context = weights.matMul(value.expandDims(2))
        .reshape(b, heads, t, hd)
        .transpose(0, 2, 1, 3)
        .reshape(new Shape(b, t, (long) heads * hd));
    return o.forward(context, pass.adapters(), pass.training());
  }

  void forEachLinear(java.util.function.Consumer<AdaptedLinear> action) {
    for (AdaptedLinear linear : new AdaptedLinear[] {q, k, v, qkv, o}) {
      if (linear != null) {
        action.accept(linear);
      }
    }
  }

  @Override
  public void close() {
    forEachLinear(AdaptedLinear::close);
  }
}

package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import dev.troupe.model.lora.AdaptedLinear;

/** The feed-forward part of a block: SwiGLU (Llama) or GELU-tanh (GPT-2). */
final class Mlp implements AutoCloseable {
  private static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
  private final AdaptedLinear gate; // null for GPT-2
  private final AdaptedLinear up; // GPT-2's c_fc
  private final AdaptedLinear down; // GPT-2's c_proj

  Mlp(AdaptedLinear gate, AdaptedLinear up, AdaptedLinear down) {
    this.gate = gate;
    this.up = up;
    this.down = down;
  }

  NDArray forward(NDArray x, Pass pass) {
    NDArray hidden;
    if (gate != null) {
      NDArray g = gate.forward(x, pass.adapter(), pass.training());
      NDArray silu = g.mul(g.getNDArrayInternal().sigmoid());
      hidden = silu.muli(up.forward(x, pass.adapter(), pass.training()));
    } else {
      hidden = geluTanh(up.forward(x, pass.adapter(), pass.training()));
    }
    return down.forward(hidden, pass.adapter(), pass.training());
  }

  /** GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  private static NDArray geluTanh(NDArray x) {
    NDArray inner = x.pow(3).muli(0.044715).addi(x).muli(SQRT_2_OVER_PI);
    return inner.tanh().add(1).muli(x).muli(0.5); // tanh keeps its output for backward: no in-place on it
  }

  void forEachLinear(java.util.function.Consumer<AdaptedLinear> action) {
    if (gate != null) {
      action.accept(gate);
    }
    action.accept(up);
    action.accept(down);
  }

  @Override
  public void close() {
    forEachLinear(AdaptedLinear::close);
  }
}

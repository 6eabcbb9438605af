package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import dev.troupe.model.lora.AdaptedLinear;
import dev.troupe.model.autograd.Ops;

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
      NDArray g = gate.forward(x, pass.adapters(), pass.training());
      NDArray silu = g.mul(g.getNDArrayInternal().sigmoid());
      hidden = silu.muli(up.forward(x, pass.adapters(), pass.training()));
    } else {
      hidden = geluTanh(up.forward(x, pass.adapters(), pass.training()));
    }
    return down.forward(hidden, pass.adapters(), pass.training());
  }

  /** GPT-2's gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  private static NDArray geluTanh(NDArray x) {
    // In place only on results that backward does not read: pow and tanh keep their outputs, and an
    // in-place multiply by x would have to keep the value it overwrites.
    NDArray inner = Ops.muli(Ops.mul(x.square().mul(x), 0.044715).addi(x), SQRT_2_OVER_PI);
    return Ops.muli(inner.tanh().add(1).mul(x), 0.5);
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

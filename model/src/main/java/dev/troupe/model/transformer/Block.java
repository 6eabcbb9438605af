package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

/** One pre-norm transformer block: x + attention(norm(x)), then x + mlp(norm(x)). */
final class Block implements AutoCloseable {
  final Norm attentionNorm;
  final Attention attention;
  final Norm mlpNorm;
  final Mlp mlp;

  Block(Norm attentionNorm, Attention attention, Norm mlpNorm, Mlp mlp) {
    this.attentionNorm = attentionNorm;
    this.attention = attention;
    this.mlpNorm = mlpNorm;
    this.mlp = mlp;
  }

  /**
   * The block's output, owned by x's manager. The block's own intermediates live in a scope closed
   * on return, so inference memory stays one layer deep (autograd keeps what backward needs itself).
   */
  NDArray forward(NDArray x, Pass pass) {
    NDManager owner = x.getManager();
    try (NDManager scope = owner.newSubManager()) {
      x.tempAttach(scope);
      NDArray h = x.add(attention.forward(attentionNorm.forward(x), pass));
      NDArray out = h.add(mlp.forward(mlpNorm.forward(h), pass));
      out.attach(owner);
      return out;
    }
  }

  @Override
  public void close() {
    attentionNorm.close();
    attention.close();
    mlpNorm.close();
    mlp.close();
  }
}

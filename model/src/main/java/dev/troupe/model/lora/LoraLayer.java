package dev.troupe.model.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.Ops;
import dev.troupe.model.quant.FrozenWeight;

/**
 * One adapter's low-rank update of one linear layer: ΔW = scaling · B · A, with A [rank, in]
 * random and B [out, rank] zero at the start (Hu et al. 2021), and for DoRA a magnitude [out].
 * Knows nothing about attention: it sees an input and the frozen weight under it.
 */
public final class LoraLayer {
  private final NDArray a;
  private final NDArray b;
  private final NDArray magnitude;
  private final double scaling;
  private final double dropout;

  LoraLayer(NDArray a, NDArray b, NDArray magnitude, double scaling, double dropout) {
    this.a = a;
    this.b = b;
    this.magnitude = magnitude;
    this.scaling = scaling;
    this.dropout = dropout;
  }

  /** A fresh layer: A ~ U(-1/sqrt(in), 1/sqrt(in)) (PEFT's kaiming-uniform default), B = 0, magnitude = ||W|| per row. */
  static LoraLayer init(FrozenWeight base, LoraConfig config, java.util.SplittableRandom random, NDManager manager) {
    int rank = config.rank();
    long in = base.inFeatures();
    long out = base.outFeatures();
    float bound = (float) (1.0 / Math.sqrt(in));
    float[] values = new float[Math.toIntExact(rank * in)];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) ((random.nextDouble() * 2 - 1) * bound);
    }
    NDArray a = manager.create(values, new Shape(rank, in));
    NDArray b = manager.zeros(new Shape(out, rank));
    NDArray magnitude = null;
    if (config.useDora()) {
      try (NDManager scratch = manager.newSubManager()) {
        magnitude = base.dense(scratch).norm(new int[] {1});
        magnitude.attach(manager);
      }
    }
    return new LoraLayer(a, b, magnitude, config.scaling(), config.dropout());
  }

  public NDArray a() {
    return a;
  }

  public NDArray b() {
    return b;
  }

  /** DoRA's magnitude vector, or null for plain LoRA. */
  public NDArray magnitude() {
    return magnitude;
  }

  public double scaling() {
    return scaling;
  }

  public boolean isDora() {
    return magnitude != null;
  }

  /**
   * The adapted output given the base output {@code baseOut} = x·Wᵀ (no bias yet).
   *
   * <p>LoRA: baseOut + s·(x·Aᵀ)·Bᵀ. DoRA (PEFT's formulation): with the row norm ‖W + s·BA‖
   * detached, as the paper's section 4.3 recommends, m/‖·‖ · (baseOut + s·x·Aᵀ·Bᵀ).
   */
  NDArray apply(NDArray x, NDArray baseOut, FrozenWeight base, boolean training) {
    NDArray input = training && dropout > 0 ? x.getNDArrayInternal().dropout(x, (float) dropout, true).head() : x;
    NDArray update = Ops.muli(Ops.linear(Ops.linear(input, a, null), b, null), scaling);
    if (magnitude == null) {
      return baseOut.add(update);
    }
    NDArray scale = magnitudeScale(base, x.getManager());
    return baseOut.add(update).mul(scale);
  }

  /**
   * The low-rank update alone, s·(x·Aᵀ)·Bᵀ, without dropout: for a batch whose rows run through
   * different adapters, each slice of rows gets its own adapter's update.
   */
  NDArray update(NDArray x) {
    return Ops.muli(Ops.linear(Ops.linear(x, a, null), b, null), scaling);
  }

  /** m / ‖W + s·BA‖ per output row, with no gradient through the norm (only through m). */
  NDArray magnitudeScale(FrozenWeight base, NDManager manager) {
    NDArray bDetached = b.stopGradient();
    bDetached.attach(manager);
    NDArray aDetached = a.stopGradient();
    aDetached.attach(manager);
    NDArray merged = base.dense(manager).addi(Ops.muli(bDetached.matMul(aDetached), scaling));
    // The per-call norm comes first so the quotient belongs to the per-call manager, not m's.
    return Ops.pow(merged.norm(new int[] {1}), -1).mul(magnitude);
  }

  /** The dense update s·B·A [out, in] (for merging), owned by {@code manager}. */
  NDArray deltaWeight(NDManager manager) {
    NDArray bCopy = b.duplicate();
    bCopy.attach(manager);
    NDArray aCopy = a.duplicate();
    aCopy.attach(manager);
    return Ops.muli(bCopy.matMul(aCopy), scaling);
  }
}

package dev.troupe.algorithms.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import dev.troupe.algorithms.state.TensorCodec;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.protocol.TrainerState;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import dev.troupe.model.autograd.Ops;

/**
 * Adam with decoupled weight decay (Loshchilov &amp; Hutter 2019, "Decoupled Weight Decay
 * Regularization"), updating DJL parameters in place from the gradients backward left in them.
 *
 * <p>One update, per parameter w with gradient g at step t (PyTorch's {@code torch.optim.AdamW}):
 * <pre>
 *   m = β1·m + (1-β1)·g            v = β2·v + (1-β2)·g²
 *   m̂ = m / (1-β1^t)               v̂ = v / (1-β2^t)
 *   w = w - lr·wd·w - lr·m̂ / (√v̂ + ε)
 * </pre>
 * The decay acts on the weight directly and never enters m or v (unlike Adam with L2 in the loss).
 *
 * <p>Gradient accumulation: every {@link GradMode#backward} adds into each leaf's .grad (PyTorch
 * semantics), so N micro-batches backpropagated one after another, each with its loss scaled by
 * 1/N, leave the gradient of the mean loss over the whole batch; call {@link #step} once after the
 * N-th backward. The optimizer does not scale anything itself.
 *
 * <p>A step whose global gradient norm is NaN or infinite (a diverging loss, a bad batch) leaves
 * the weights and the moments untouched: the gradients are zeroed, the step is reported as skipped
 * and counted ({@link #skippedSteps()}), and a warning is logged. Parameters backward never reached
 * (no .grad yet) are left alone.
 *
 * <p>Memory: m and v live in the optimizer's own manager; every temporary of a step lives in a
 * per-step sub-manager closed before {@code step} returns, so neither the parameters' managers
 * nor the optimizer's grow from step to step. Not thread-safe: one learner thread drives it.
 */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
public final class AdamW implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AdamW.class);

  /**
   * Hyper-parameters of {@link AdamW}.
   *
   * @param lr the learning rate used by {@link #step()}; {@link #step(double)} overrides it (schedules)
   * @param weightDecay decoupled: the weight shrinks by lr·weightDecay per step
   */
  public record AdamWConfig(double lr, double beta1, double beta2, double eps, double weightDecay) {
    public AdamWConfig {
      if (!(lr >= 0)) {
        throw new IllegalArgumentException("lr must be >= 0, got " + lr);
      }
      if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
        throw new IllegalArgumentException("betas must be in [0, 1), got " + beta1 + ", " + beta2);
      }
      if (!(eps > 0)) {
        throw new IllegalArgumentException("eps must be positive, got " + eps);
      }
      if (!(weightDecay >= 0)) {
        throw new IllegalArgumentException("weightDecay must be >= 0, got " + weightDecay);
      }
    }

    /** PyTorch's Adam defaults (lr 1e-3, betas 0.9 / 0.999, eps 1e-8) with no weight decay. */
    public static AdamWConfig defaults() {
      return new AdamWConfig(1e-3, 0.9, 0.999, 1e-8, 0.0);
    }

    public AdamWConfig withLr(double newLr) {
      return new AdamWConfig(newLr, beta1, beta2, eps, weightDecay);
    }

    public AdamWConfig withWeightDecay(double wd) {
      return new AdamWConfig(lr, beta1, beta2, eps, wd);
    }
  }

  /**
   * What one {@link #step} did.
   *
   * @param gradNorm global L2 norm of all gradients before any clipping (NaN or ∞ when skipped)
   * @param skipped the gradient was not finite, so the weights were not touched
   */
  public record StepResult(double gradNorm, boolean skipped) {}

  private final List<NDArray> params;
  private final AdamWConfig config;
  private final NDManager manager;
  private final List<NDArray> m = new ArrayList<>();
  private final List<NDArray> v = new ArrayList<>();
  private final long[] steps; // per parameter: a parameter backward never reached does not advance
  private long skippedSteps;
  private double clippedFrom = Double.NaN; // the norm clipGradNorm saw, until the next step
  private boolean clipPending;

  /**
   * An optimizer over {@code params} (each a leaf that requires a gradient); its moments are
   * allocated now, zero, in a base manager of its own on the parameters' device, independent of
   * the model's lifetime: {@link #close} frees them.
   */
  public AdamW(List<NDArray> params, AdamWConfig config) {
    if (params.isEmpty()) {
      throw new IllegalArgumentException("AdamW needs at least one parameter");
    }
    this.params = List.copyOf(params);
    this.config = config;
    this.steps = new long[this.params.size()];
    NDArray first = this.params.get(0);
    this.manager = first.getManager().getEngine().newBaseManager(first.getDevice());
    manager.setName("adamw");
    for (NDArray p : this.params) {
      m.add(manager.zeros(p.getShape(), p.getDataType(), p.getDevice()));
      v.add(manager.zeros(p.getShape(), p.getDataType(), p.getDevice()));
    }
  }

  public AdamWConfig config() {
    return config;
  }

  /** The manager holding m and v (for memory accounting). */
  public NDManager manager() {
    return manager;
  }

  /** Updates applied so far (the largest per-parameter step count). */
  public long stepCount() {
    long max = 0;
    for (long s : steps) {
      max = Math.max(max, s);
    }
    return max;
  }

  /** Steps refused because the loss or the gradient was NaN or infinite. */
  public long skippedSteps() {
    return skippedSteps;
  }

  /**
   * The step for a batch whose loss is {@code loss}: {@link #step(double)} when the loss is finite,
   * otherwise a refused step (counted, logged, gradients cleared), since an infinite loss can come
   * with finite, meaningless gradients (a clamped log of zero) that the norm check would let through.
   */
  public StepResult step(double lr, double loss) {
    if (Double.isFinite(loss)) {
      return step(lr);
    }
    skippedSteps++;
    LOG.warn("refused a step: the loss is {}, so the weights and moments stay as they were"
        + " ({} refused so far, {} applied)", loss, skippedSteps, stepCount());
    clipPending = false;
    zeroGradients();
    return new StepResult(Double.NaN, true);
  }

  /** {@link #step(double)} at the configured learning rate. */
  public StepResult step() {
    return step(config.lr());
  }

  /**
   * Applies one AdamW update at learning rate {@code lr} from the accumulated gradients, then
   * zeroes them. Returns the global gradient norm before clipping (the one {@link #clipGradNorm}
   * saw, when it was called since the last step).
   */
  public StepResult step(double lr) {
    if (!(lr >= 0) || Double.isInfinite(lr)) {
      // A NaN rate (a broken schedule) would write NaN into every weight: refuse before touching any.
      throw new IllegalArgumentException("learning rate must be a finite number >= 0, got " + lr);
    }
    try (NDManager scratch = manager.newSubManager()) {
      List<NDArray> grads = gradients(scratch);
      double norm = clipPending ? clippedFrom : globalNorm(grads);
      clipPending = false;
      if (!Double.isFinite(norm)) {
        skippedSteps++;
        LOG.warn("refused a step: the gradient norm is {}, so the weights and moments stay as they were"
            + " ({} refused so far, {} applied)", norm, skippedSteps, stepCount());
        zeroGradients();
        return new StepResult(norm, true);
      }
      try (GradMode ignored = GradMode.disabled()) {
        for (int i = 0; i < params.size(); i++) {
          NDArray g = grads.get(i);
          if (g != null) {
            update(i, g, lr, scratch);
          }
        }
      }
      zeroGradients();
      return new StepResult(norm, false);
    }
  }

  private void update(int i, NDArray g, double lr, NDManager scratch) {
    NDArray p = params.get(i);
    NDArray mi = m.get(i);
    NDArray vi = v.get(i);
    long t = ++steps[i];
    double b1 = config.beta1();
    double b2 = config.beta2();
    // Moments in place; the right-hand sides start from g, so they belong to the scratch manager.
    Ops.muli(mi, b1).addi(Ops.mul(g, 1 - b1));
    Ops.muli(vi, b2).addi(Ops.muli(g.square(), 1 - b2));
    double bias1 = 1 - Math.pow(b1, t);
    double bias2 = 1 - Math.pow(b2, t);
    // Results of ops on m and v would join the optimizer's manager: move them to scratch at once.
    NDArray denom = Ops.divi(scratch(vi.sqrt(), scratch), Math.sqrt(bias2)).addi(config.eps());
    NDArray adam = Ops.muli(scratch(mi.div(denom), scratch), lr / bias1);
    if (config.weightDecay() > 0) {
      Ops.muli(p, 1 - lr * config.weightDecay());
    }
    p.subi(adam);
  }

  private static NDArray scratch(NDArray array, NDManager scratch) {
    array.attach(scratch);
    return array;
  }

  /**
   * Scales all gradients in place so that their global L2 norm is at most {@code maxNorm}
   * ({@code torch.nn.utils.clip_grad_norm_}: coefficient maxNorm / (norm + 1e-6), never above 1),
   * and returns the norm before clipping. A non-finite norm is returned as is and leaves the
   * gradients alone, for {@link #step} to skip. Call after the last backward, before step.
   */
  public double clipGradNorm(double maxNorm) {
    if (!(maxNorm > 0)) {
      throw new IllegalArgumentException("maxNorm must be positive, got " + maxNorm);
    }
    try (NDManager scratch = manager.newSubManager()) {
      List<NDArray> grads = gradients(scratch);
      double norm = globalNorm(grads);
      clippedFrom = norm;
      clipPending = true;
      double coefficient = maxNorm / (norm + 1e-6);
      if (Double.isFinite(norm) && coefficient < 1) {
        try (GradMode ignored = GradMode.disabled()) {
          for (NDArray g : grads) {
            if (g != null) {
              Ops.muli(g, coefficient); // g shares storage with the parameter's .grad
            }
          }
        }
      }
      return norm;
    }
  }

  /** Global L2 norm of the current gradients, as {@link #step} would report it. */
  public double gradNorm() {
    try (NDManager scratch = manager.newSubManager()) {
      return globalNorm(gradients(scratch));
    }
  }

  /** Clears every parameter's accumulated gradient (parameters without one are left as they are). */
  public void zeroGradients() {
    for (NDArray p : params) {
      NDArray g = gradientOrNull(p);
      if (g != null) {
        g.close();
        GradMode.zeroGradient(p);
      }
    }
  }

  /** Each parameter's .grad as a handle owned by {@code scratch}, or null where it has none. */
  private List<NDArray> gradients(NDManager scratch) {
    List<NDArray> grads = new ArrayList<>(params.size());
    for (NDArray p : params) {
      NDArray g = gradientOrNull(p);
      if (g != null) {
        g.attach(scratch); // a fresh handle on the same storage, born in the parameter's manager
      }
      grads.add(g);
    }
    return grads;
  }

  /**
   * DJL's {@code getGradient()} invents zeros for a leaf backward has not reached yet; the
   * optimizer must tell "no gradient" (skip the parameter) from "a zero gradient" (decay the moments).
   */
  private static NDArray gradientOrNull(NDArray p) {
    if (!p.hasGradient()) {
      return null;
    }
    return JniUtils.getGradient((PtNDArray) p);
  }

  /** sqrt(Σ‖g‖²) over parameters, each norm taken by torch and summed in double (no fp32 overflow). */
  private static double globalNorm(List<NDArray> grads) {
    double sumSquares = 0;
    for (NDArray g : grads) {
      if (g != null) {
        double n = g.norm().toType(DataType.FLOAT64, false).getDouble();
        sumSquares += n * n;
      }
    }
    return Math.sqrt(sumSquares);
  }

  /**
   * Adds the moments (tensors {@code <prefix>m.<i>}, {@code <prefix>v.<i>}) and the step counters
   * to {@code state}, so that {@link #readState} continues exactly where this optimizer is.
   */
  public void writeState(TrainerState.Builder state, String prefix) {
    for (int i = 0; i < params.size(); i++) {
      state.addTensors(TensorCodec.encode(prefix + "m." + i, m.get(i)));
      state.addTensors(TensorCodec.encode(prefix + "v." + i, v.get(i)));
      state.putCounters(prefix + "steps." + i, steps[i]);
    }
    state.putCounters(prefix + "skipped", skippedSteps);
  }

  /** Restores what {@link #writeState} wrote for an optimizer over parameters of the same shapes. */
  public void readState(TrainerState state, String prefix) {
    java.util.Map<String, dev.troupe.protocol.Tensor> byName = new java.util.HashMap<>();
    state.getTensorsList().forEach(t -> byName.put(t.getName(), t));
    try (NDManager scratch = manager.newSubManager(); GradMode ignored = GradMode.disabled()) {
      for (int i = 0; i < params.size(); i++) {
        copyInto(m.get(i), byName.get(prefix + "m." + i), prefix + "m." + i, scratch);
        copyInto(v.get(i), byName.get(prefix + "v." + i), prefix + "v." + i, scratch);
        Long count = state.getCountersMap().get(prefix + "steps." + i);
        if (count == null) {
          throw new IllegalArgumentException("optimizer state has no step count '" + prefix + "steps." + i + "'");
        }
        steps[i] = count;
      }
    }
    skippedSteps = state.getCountersOrDefault(prefix + "skipped", 0);
  }

  private static void copyInto(NDArray target, dev.troupe.protocol.Tensor tensor, String name, NDManager scratch) {
    if (tensor == null) {
      throw new IllegalArgumentException("optimizer state has no tensor '" + name + "'");
    }
    NDArray value = TensorCodec.decode(tensor, scratch);
    if (!value.getShape().equals(target.getShape())) {
      throw new IllegalArgumentException("optimizer state '" + name + "' has shape " + value.getShape()
          + ", the parameter has " + target.getShape());
    }
    target.set(value.toType(target.getDataType(), false).toByteBuffer());
  }

  @Override
  public void close() {
    manager.close();
  }
}

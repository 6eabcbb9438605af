package dev.troupe.algorithms.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.optim.AdamW.AdamWConfig;
import dev.troupe.algorithms.optim.AdamW.StepResult;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.transformer.CausalLm;
import java.util.List;
import java.util.function.Function;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
class AdamWTest {

  /** f(w1, w2) = (w1 - 3)² + 10·(w2 + 1)²: two parameters with gradients of very different scale. */
  private static NDArray quadratic(NDArray w1, NDArray w2) {
    return w1.sub(3).square().sum().add(w2.add(1).square().sum().mul(10));
  }

  @Test
  void aNanOrInfiniteLearningRateIsRefusedBeforeAnyWeightChanges() {
    try (NDManager root = NDManager.newBaseManager()) {
      NDArray w1 = leaf(root, 1.0f);
      NDArray w2 = leaf(root, 0.5f);
      try (AdamW optimizer = new AdamW(List.of(w1, w2), AdamWConfig.defaults())) {
        backward(root, () -> quadratic(w1, w2));
        for (double bad : new double[] {Double.NaN, Double.POSITIVE_INFINITY, -1e-3}) {
          IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> optimizer.step(bad));
          assertTrue(e.getMessage().contains("learning rate"), e.getMessage());
        }
        assertEquals(1.0f, w1.getFloat());
        assertEquals(0.5f, w2.getFloat());
        assertEquals(0, optimizer.stepCount());
        assertFalse(optimizer.step(0.1).skipped(), "the gradient was kept and a good rate still steps");
        assertTrue(w1.getFloat() > 1.0f, "w1 moved toward 3: " + w1.getFloat());
      }
    }
  }

  @Test
  void eachStepMatchesTheHandComputedAdamWUpdate() {
    double lr = 0.1;
    double wd = 0.05;
    AdamWConfig config = new AdamWConfig(lr, 0.9, 0.999, 1e-8, wd);
    try (NDManager root = NDManager.newBaseManager()) {
      NDArray w1 = leaf(root, 1.0f);
      NDArray w2 = leaf(root, 0.5f);
      // The reference, in double: the formula of Loshchilov & Hutter's Algorithm 2 as PyTorch implements it.
      double[] w = {1.0, 0.5};
      double[] m = new double[2];
      double[] v = new double[2];
      try (AdamW optimizer = new AdamW(List.of(w1, w2), config)) {
        for (int t = 1; t <= 3; t++) {
          backward(root, () -> quadratic(w1, w2));
          double[] g = {2 * (w[0] - 3), 20 * (w[1] + 1)};
          double[] before = {w1.getFloat(), w2.getFloat()};
          StepResult result = optimizer.step(lr);
          assertFalse(result.skipped());
          assertEquals(Math.hypot(g[0], g[1]), result.gradNorm(), 1e-4 * Math.hypot(g[0], g[1]));
          double[] after = {w1.getFloat(), w2.getFloat()};
          for (int i = 0; i < 2; i++) {
            m[i] = 0.9 * m[i] + 0.1 * g[i];
            v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
            double mHat = m[i] / (1 - Math.pow(0.9, t));
            double vHat = v[i] / (1 - Math.pow(0.999, t));
            double update = lr * mHat / (Math.sqrt(vHat) + 1e-8) + lr * wd * w[i];
            assertEquals(update, before[i] - after[i], 1e-6, "step " + t + ", w" + (i + 1));
            w[i] -= update;
          }
        }
        assertEquals(3, optimizer.stepCount());
      }
    }
  }

  @Test
  void weightDecayIsDecoupledFromTheMoments() {
    // Same gradient for two weights far apart: with decoupled decay the Adam part of their updates
    // is identical, because m and v never see the weights. Adam with L2 (decay added to the
    // gradient) would give them different moments and different Adam parts.
    double lr = 0.1;
    double wd = 0.5;
    try (NDManager root = NDManager.newBaseManager()) {
      NDArray a = leaf(root, 2.0f);
      NDArray b = leaf(root, -1.0f);
      try (AdamW optimizer = new AdamW(List.of(a, b), new AdamWConfig(lr, 0.9, 0.999, 1e-8, wd))) {
        for (int t = 1; t <= 5; t++) {
          backward(root, () -> a.add(b).mul(0.7f).sum()); // dL/da = dL/db = 0.7
          double aBefore = a.getFloat();
          double bBefore = b.getFloat();
          optimizer.step(lr);
          double adamA = (aBefore - a.getFloat()) - lr * wd * aBefore;
          double adamB = (bBefore - b.getFloat()) - lr * wd * bBefore;
          // A constant gradient g gives m̂ = g and v̂ = g², so the Adam part is lr·g/(|g| + eps) = lr.
          assertEquals(lr, adamA, 1e-6, "step " + t);
          assertEquals(lr, adamB, 1e-6, "step " + t);
        }
      }
    }
  }

  @Test
  void clipGradNormScalesTheGradientToTheMaximumAndReturnsTheNormBefore() {
    try (NDManager root = NDManager.newBaseManager()) {
      NDArray p = leaf(root, 0f, 0f);
      try (AdamW optimizer = new AdamW(List.of(p), AdamWConfig.defaults())) {
        backward(root, () -> p.mul(root.create(new float[] {3f, 4f})).sum());
        assertEquals(5.0, optimizer.clipGradNorm(1.0), 1e-6);
        assertArrayEquals(new float[] {0.6f, 0.8f}, gradient(p), 1e-6f);
        assertEquals(5.0, optimizer.step().gradNorm(), 1e-6, "step reports the norm before clipping");

        backward(root, () -> p.mul(root.create(new float[] {0.3f, 0.4f})).sum());
        assertEquals(0.5, optimizer.clipGradNorm(1.0), 1e-6);
        assertArrayEquals(new float[] {0.3f, 0.4f}, gradient(p), 1e-6f, "a norm below the maximum is kept");
      }
    }
  }

  @Test
  void nonFiniteGradientSkipsTheStepLeavesTheWeightsUnchangedAndWarns() {
    try (NDManager root = NDManager.newBaseManager(); Fixtures.LogRecorder log = Fixtures.recordLog(AdamW.class)) {
      NDArray p = leaf(root, 1f, -2f);
      try (AdamW optimizer = new AdamW(List.of(p), AdamWConfig.defaults().withWeightDecay(0.1))) {
        backward(root, () -> p.sum().mul(Float.NaN));
        StepResult nan = optimizer.step();
        assertTrue(nan.skipped());
        assertTrue(Double.isNaN(nan.gradNorm()));
        assertArrayEquals(new float[] {1f, -2f}, p.toFloatArray(), 0f);
        assertArrayEquals(new float[] {0f, 0f}, gradient(p), 0f, "the bad gradient is dropped");

        backward(root, () -> p.sum().mul(Float.POSITIVE_INFINITY));
        assertTrue(Double.isInfinite(optimizer.clipGradNorm(1.0)));
        assertTrue(optimizer.step().skipped());
        assertArrayEquals(new float[] {1f, -2f}, p.toFloatArray(), 0f);
        assertEquals(2, optimizer.skippedSteps());
        assertEquals(0, optimizer.stepCount());
        List<String> warnings = log.warnings();
        assertEquals(2, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("gradient norm is NaN"), warnings.get(0));
        assertTrue(warnings.get(0).contains("1 refused so far"), warnings.get(0));
        assertTrue(warnings.get(1).contains("gradient norm is Infinity"), warnings.get(1));
        assertTrue(warnings.get(1).contains("2 refused so far"), warnings.get(1));

        backward(root, () -> p.sum());
        assertFalse(optimizer.step().skipped());
        assertEquals(1, optimizer.stepCount());
        assertTrue(p.toFloatArray()[0] < 1f, "a finite gradient updates again");
        assertEquals(2, log.warnings().size(), "an applied step does not warn");
      }
    }
  }

  /** A loss of −log(0) clamped inside the model can come with a perfectly finite gradient: the loss decides. */
  @Test
  void aNonFiniteLossSkipsTheStepEvenWhenTheGradientIsFinite() {
    try (NDManager root = NDManager.newBaseManager(); Fixtures.LogRecorder log = Fixtures.recordLog(AdamW.class)) {
      NDArray p = leaf(root, 1f, -2f);
      try (AdamW optimizer = new AdamW(List.of(p), AdamWConfig.defaults())) {
        backward(root, () -> p.sum());
        optimizer.clipGradNorm(1.0);
        StepResult refused = optimizer.step(0.1, Double.POSITIVE_INFINITY);
        assertTrue(refused.skipped());
        assertArrayEquals(new float[] {1f, -2f}, p.toFloatArray(), 0f);
        assertArrayEquals(new float[] {0f, 0f}, gradient(p), 0f, "the step's gradient is dropped");
        assertEquals(1, optimizer.skippedSteps());
        assertTrue(log.warnings().get(0).contains("the loss is Infinity"), log.warnings().toString());

        backward(root, () -> p.sum());
        StepResult applied = optimizer.step(0.1, 2.0);
        assertFalse(applied.skipped());
        assertEquals(Math.sqrt(2), applied.gradNorm(), 1e-6, "no clipping left over from the refused step");
        assertEquals(0.9f, p.toFloatArray()[0], 1e-6f, "Adam's first step moves each weight by lr");
      }
    }
  }

  @Test
  void aParameterBackwardNeverReachedIsLeftAlone() {
    try (NDManager root = NDManager.newBaseManager()) {
      NDArray used = leaf(root, 1f);
      NDArray unused = leaf(root, 4f);
      try (AdamW optimizer = new AdamW(List.of(used, unused), AdamWConfig.defaults().withWeightDecay(0.1))) {
        backward(root, () -> used.mul(2).sum());
        assertFalse(optimizer.step().skipped());
        optimizer.zeroGradients();
        assertTrue(used.getFloat() < 1f);
        assertEquals(4f, unused.getFloat(), 0f, "no gradient: no Adam update and no decay");
      }
    }
  }

  @Test
  void twentyStepsLeaveTheParameterAndOptimizerManagersTheSameSize() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(97), 3, root)) {
      List<NDArray> params = model.baseParameters();
      params.forEach(p -> p.setRequiresGradient(true));
      List<long[]> rows = List.of(new long[] {1, 5, 9, 13, 40, 2}, new long[] {7, 8, 9, 10});
      try (AdamW optimizer = new AdamW(params, new AdamWConfig(1e-3, 0.9, 0.999, 1e-8, 0.01))) {
        int parameterArrays = model.manager().getManagedArrays().size();
        int optimizerArrays = optimizer.manager().getManagedArrays().size();
        assertEquals(2 * params.size(), optimizerArrays, "m and v per parameter");
        for (int i = 0; i < 20; i++) {
          float scale = i % 7 == 6 ? Float.NaN : 1f; // a few skipped steps on the way
          backward(root, step -> Fixtures.loss(model, null, rows, step).mul(scale));
          optimizer.clipGradNorm(1.0);
          optimizer.step();
        }
        assertEquals(2, optimizer.skippedSteps());
        assertEquals(parameterArrays, model.manager().getManagedArrays().size(), "parameter manager");
        assertEquals(optimizerArrays, optimizer.manager().getManagedArrays().size(), "optimizer manager");
      }
    }
  }

  private static NDArray leaf(NDManager manager, float... values) {
    NDArray p = manager.create(values);
    p.setRequiresGradient(true);
    return p;
  }

  private static void backward(NDManager root, Supplier<NDArray> loss) {
    backward(root, step -> loss.get());
  }

  /** Runs forward and backward in a step manager of their own, as a learner does. */
  private static void backward(NDManager root, Function<NDManager, NDArray> loss) {
    try (NDManager step = root.newSubManager(); GradMode ignored = GradMode.enabled()) {
      NDArray l = loss.apply(step);
      l.attach(step);
      GradMode.backward(l);
    }
  }

  private static float[] gradient(NDArray p) {
    try (NDArray g = p.getGradient()) {
      return g.toFloatArray();
    }
  }
}

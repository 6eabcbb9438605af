package dev.troupe.algorithms.optim;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Backward accumulates into .grad, so micro-batches with their losses scaled by 1/N add up to the batch. */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
class GradientAccumulationTest {

  @Test
  void twoHalfBatchesWithHalfTheLossGiveTheFullBatchGradient() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(97), 21, root)) {
      List<NDArray> params = model.baseParameters();
      params.forEach(p -> p.setRequiresGradient(true));
      // Rows of equal length: the batch's mean over tokens is then the mean of the rows' means.
      long[] first = {3, 14, 15, 92, 65, 35, 89, 79};
      long[] second = {27, 18, 28, 18, 28, 45, 90, 45};

      backward(model, List.of(first, second), 1.0, root);
      List<float[]> full = gradients(params);
      params.forEach(GradMode::zeroGradient);

      backward(model, List.of(first), 0.5, root);
      backward(model, List.of(second), 0.5, root);
      List<float[]> accumulated = gradients(params);

      double worst = 0;
      double largest = 0;
      for (int i = 0; i < params.size(); i++) {
        for (int j = 0; j < full.get(i).length; j++) {
          worst = Math.max(worst, Math.abs(full.get(i)[j] - accumulated.get(i)[j]));
          largest = Math.max(largest, Math.abs(full.get(i)[j]));
        }
      }
      assertTrue(largest > 1e-3, "a gradient worth comparing, largest entry " + largest);
      assertTrue(worst < 1e-5, "max abs difference " + worst);
    }
  }

  private static void backward(CausalLm model, List<long[]> rows, double scale, NDManager root) {
    try (NDManager step = root.newSubManager(); GradMode ignored = GradMode.enabled()) {
      GradMode.backward(Fixtures.loss(model, null, rows, step).mul(scale));
    }
  }

  private static List<float[]> gradients(List<NDArray> params) {
    List<float[]> out = new ArrayList<>();
    for (NDArray p : params) {
      try (NDArray g = p.getGradient()) {
        out.add(g.toFloatArray());
      }
    }
    return out;
  }
}

package dev.troupe.algorithms.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GaeTest {
  private final NDManager manager = NDManager.newBaseManager();

  @AfterEach
  void close() {
    manager.close();
  }

  @Test
  void matchesTheHandUnrolledRecursionOnRowsOfDifferentLengths() {
    double g = 0.9;
    double l = 0.8;
    // Row 0 has 3 response tokens, row 1 has 2 and then padding holding values that must not leak in.
    NDArray rewards = manager.create(new float[][] {{0.1f, -0.2f, 1.0f}, {0.3f, 2.0f, 9.9f}});
    NDArray values = manager.create(new float[][] {{0.5f, 0.4f, 0.3f}, {0.2f, 0.6f, 7.7f}});
    NDArray mask = manager.create(new float[][] {{1, 1, 1}, {1, 1, 0}});

    Gae.Estimate gae = Gae.compute(rewards, values, mask, g, l);

    // δ_t = r_t + γ·V_{t+1} − V_t with V = 0 after the last token; A_t = δ_t + γλ·A_{t+1}.
    double a02 = 1.0 + g * 0 - 0.3;
    double a01 = (-0.2 + g * 0.3 - 0.4) + g * l * a02;
    double a00 = (0.1 + g * 0.4 - 0.5) + g * l * a01;
    double a11 = 2.0 + g * 0 - 0.6;
    double a10 = (0.3 + g * 0.6 - 0.2) + g * l * a11;
    assertArrayEquals(new float[] {(float) a00, (float) a01, (float) a02, (float) a10, (float) a11, 0f},
        gae.advantages().toFloatArray(), 1e-6f);
    assertArrayEquals(new float[] {(float) (a00 + 0.5), (float) (a01 + 0.4), (float) (a02 + 0.3),
        (float) (a10 + 0.2), (float) (a11 + 0.6), 0f}, gae.returns().toFloatArray(), 1e-6f);
  }

  @Test
  void aResponseAfterMaskedPromptPositionsGetsTheSameEstimatesAsAlone() {
    // The same 2-token response, once at the start of its row, once after a masked prompt token.
    NDArray rewards = manager.create(new float[][] {{0.5f, -1f, 0f}, {3f, 0.5f, -1f}});
    NDArray values = manager.create(new float[][] {{0.1f, 0.2f, 0f}, {5f, 0.1f, 0.2f}});
    NDArray mask = manager.create(new float[][] {{1, 1, 0}, {0, 1, 1}});
    Gae.Estimate gae = Gae.compute(rewards, values, mask, 0.9, 0.8);
    float[] a = gae.advantages().toFloatArray();
    assertArrayEquals(new float[] {a[0], a[1]}, new float[] {a[4], a[5]}, 0f);
    assertArrayEquals(new float[] {0f, 0f}, new float[] {a[2], a[3]}, 0f);
  }

  @Test
  void rejectsMisshapedInputsAndDiscountsOutsideTheUnitInterval() {
    NDArray x = manager.zeros(new Shape(2, 3));
    NDArray mask = manager.ones(new Shape(2, 3));
    assertThrows(IllegalArgumentException.class, () -> Gae.compute(x, manager.zeros(new Shape(2, 2)), mask, 1, 1));
    assertThrows(IllegalArgumentException.class, () -> Gae.compute(x, x, mask, 1.1, 0.9));
  }
}

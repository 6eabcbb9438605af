package dev.troupe.algorithms.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WhitenTest {
  private final NDManager manager = NDManager.newBaseManager();

  @AfterEach
  void close() {
    manager.close();
  }

  // Unmasked values {1, 2, 3, 4}; the padding holds a large value and a NaN that must not count.
  private NDArray x() {
    return manager.create(new float[][] {{1, 2, 3}, {4, 100, Float.NaN}});
  }

  private NDArray mask() {
    return manager.create(new float[][] {{1, 1, 1}, {1, 0, 0}});
  }

  @Test
  void maskedMeanAndVarianceCountOnlyTheUnmaskedElements() {
    assertEquals(2.5, Masked.mean(x(), mask()).getFloat(), 1e-6);
    // Σ(x − 2.5)² = 2.25 + 0.25 + 0.25 + 2.25 = 5
    assertEquals(5.0 / 4, Masked.variance(x(), mask(), false).getFloat(), 1e-6);
    assertEquals(5.0 / 3, Masked.variance(x(), mask(), true).getFloat(), 1e-6);
  }

  @Test
  void whiteningGivesZeroMeanUnitUnbiasedVarianceAndZeroAtPadding() {
    double sd = Math.sqrt(5.0 / 3 + 1e-8);
    float[] expected = {(float) (-1.5 / sd), (float) (-0.5 / sd), (float) (0.5 / sd), (float) (1.5 / sd), 0f, 0f};
    assertArrayEquals(expected, Whiten.masked(x(), mask(), true).toFloatArray(), 1e-6f);
  }

  @Test
  void withoutShiftingTheMeanOnlyTheScaleChanges() {
    double sd = Math.sqrt(5.0 / 3 + 1e-8);
    float[] expected = {(float) (-1.5 / sd + 2.5), (float) (-0.5 / sd + 2.5), (float) (0.5 / sd + 2.5),
        (float) (1.5 / sd + 2.5), 0f, 0f};
    assertArrayEquals(expected, Whiten.masked(x(), mask(), false).toFloatArray(), 1e-6f);
  }

  @Test
  void unbiasedVarianceOfASingleElementIsRefused() {
    NDArray one = manager.create(new float[][] {{1, 0, 0}, {0, 0, 0}});
    assertThrows(IllegalArgumentException.class, () -> Whiten.masked(x(), one, true));
  }
}

package dev.troupe.model.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class Int8WeightTest {
  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void close() {
    manager.close();
  }

  private static float[] gaussian(int size, long seed) {
    Random random = new Random(seed);
    float[] values = new float[size];
    for (int i = 0; i < size; i++) {
      values[i] = (float) random.nextGaussian();
    }
    return values;
  }

  @Test
  void everyValueRoundTripsWithinHalfAStepOfItsRowsScale() {
    int out = 256;
    int in = 1024;
    float[] weights = gaussian(out * in, 11);
    for (int i = 0; i < in; i++) {
      weights[in + i] *= 100f; // a row a hundred times larger gets its own scale
      weights[2 * in + i] = 0f; // an all-zero row stays zero
    }
    try (Int8Weight int8 = Int8Weight.quantize(manager.create(weights, new Shape(out, in)), manager)) {
      float[] dense = int8.dense(manager).toFloatArray();
      double worst = 0;
      for (int r = 0; r < out; r++) {
        float absmax = 0;
        for (int c = 0; c < in; c++) {
          absmax = Math.max(absmax, Math.abs(weights[r * in + c]));
        }
        // Codes step by absmax / 127, so rounding is off by at most half a step: absmax / 254.
        for (int c = 0; c < in; c++) {
          double error = Math.abs(weights[r * in + c] - dense[r * in + c]);
          assertTrue(error <= absmax / 254 * (1 + 1e-5), "row " + r + " column " + c + ": " + error);
          if (absmax > 0) {
            worst = Math.max(worst, error / (absmax / 254));
          }
        }
      }
      assertTrue(worst > 0.9, "the bound is tight, worst error / bound = " + worst);
      assertArrayEquals(new float[in], Arrays.copyOfRange(dense, 2 * in, 3 * in));
    }
  }

  @Test
  void applyEqualsInputTimesDequantizedWeightTransposed() {
    try (NDManager activations = manager.newSubManager();
        Int8Weight int8 =
            Int8Weight.quantize(manager.create(gaussian(96 * 80, 3), new Shape(96, 80)), manager)) {
      NDArray x = activations.create(gaussian(2 * 5 * 80, 4), new Shape(2, 5, 80));
      NDArray expected = x.matMul(int8.dense(activations).transpose());

      NDArray y = int8.apply(x);

      assertEquals(new Shape(2, 5, 96), y.getShape());
      assertEquals(activations, y.getManager());
      assertArrayEquals(expected.toFloatArray(), y.toFloatArray(), 1e-5f);
    }
  }

  @Test
  void storesOneBytePerWeightPlusAScalePerRow() {
    try (Int8Weight int8 =
        Int8Weight.quantize(manager.create(gaussian(256 * 1024, 1), new Shape(256, 1024)), manager)) {
      assertEquals(256L * 1024 + 256 * 4, int8.storedBytes());
      double fraction = int8.storedBytes() / (4.0 * 256 * 1024);
      assertEquals(0.2510, fraction, 1e-4, "fraction of fp32 bytes");
    }
  }

  @Test
  void applyAddsNothingToTheWeightsManager() {
    try (NDManager owner = manager.newSubManager();
        NDManager activations = manager.newSubManager()) {
      Int8Weight int8 =
          Int8Weight.quantize(manager.create(gaussian(64 * 48, 2), new Shape(64, 48)), owner);
      NDArray x = activations.create(gaussian(3 * 48, 6), new Shape(3, 48));
      int ownerBefore = owner.getManagedArrays().size();
      int activationsBefore = activations.getManagedArrays().size();

      for (int i = 0; i < 10; i++) {
        int8.apply(x);
      }

      assertEquals(ownerBefore, owner.getManagedArrays().size(), "arrays in the weight's manager");
      assertEquals(activationsBefore + 10, activations.getManagedArrays().size(), "one result per call");
      assertEquals(2, ownerBefore, "codes and row scales");
    }
  }

  @Test
  void nonMatrixWeightIsRejectedWithItsShape() {
    NDArray cube = manager.create(gaussian(64, 1), new Shape(4, 4, 4));

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Int8Weight.quantize(cube, manager));
    assertTrue(
        e.getMessage().contains("2-D [out, in]") && e.getMessage().contains("(4, 4, 4)"), e.getMessage());
  }
}

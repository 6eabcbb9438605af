package dev.troupe.model.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class QuantizerTest {
  private NDManager manager;

  @BeforeEach
  void open() {
    manager = NDManager.newBaseManager();
  }

  @AfterEach
  void close() {
    manager.close();
  }

  @Test
  void eachKindGivesItsWeightOwnedByTheOwnerAndLeavesTheInputOpen() {
    NDArray input = manager.arange(0f, 128f).div(64f).sub(1f).reshape(8, 16);
    float[] original = input.toFloatArray();
    for (Quantization kind : Quantization.values()) {
      NDManager owner = manager.newSubManager();
      FrozenWeight weight = Quantizer.quantize(input, kind, owner);

      assertEquals(kind, weight.quantization());
      assertEquals(8, weight.outFeatures());
      assertEquals(16, weight.inFeatures());
      assertTrue(owner.getManagedArrays().size() > 0, kind + " stores its arrays in the owner");
      owner.close();
      assertFalse(input.isReleased(), kind + " must not close its input");
      assertArrayEquals(original, input.toFloatArray());
    }
    assertInstanceOf(DenseWeight.class, Quantizer.quantize(input, Quantization.NONE, manager));
    assertInstanceOf(Int8Weight.class, Quantizer.quantize(input, Quantization.INT8, manager));
    assertInstanceOf(Nf4Weight.class, Quantizer.quantize(input, Quantization.NF4, manager));
  }

  @Test
  void denseKindIsAnExactCopy() {
    NDArray input = manager.arange(0f, 12f).reshape(3, 4);
    try (NDManager owner = manager.newSubManager()) {
      FrozenWeight weight = Quantizer.quantize(input, Quantization.NONE, owner);
      input.muli(2f); // changing the input does not change the copy
      assertArrayEquals(
          manager.arange(0f, 12f).toFloatArray(), weight.dense(manager).toFloatArray());
      assertEquals(48, weight.storedBytes());
    }
  }

  @Test
  void nonMatrixWeightIsRejectedForEveryKind() {
    NDArray vector = manager.zeros(new Shape(16));
    for (Quantization kind : Quantization.values()) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> Quantizer.quantize(vector, kind, manager));
      assertEquals("a linear weight must be 2-D [out, in], got shape (16)", e.getMessage());
    }
  }
}

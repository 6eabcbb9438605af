package dev.troupe.model.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * A scalar operand must survive until backward. DJL's {@code x.mul(0.5f)} fails this: its scalar is
 * a view of a Java buffer freed by the next garbage collection, and the gradient came out as
 * -1.9e37 when this test was written against it. The test collects garbage and refills freed
 * small blocks with 99 between forward and backward, which is what a busy training step does.
 */
class OpsScalarOperandTest {
  private static final float[] X = {1, 2, 3};

  @Test
  void mulGradientIsTheScalar() throws Exception {
    assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, gradientAfterCollection(x -> Ops.mul(x, 0.5)), 0f);
  }

  @Test
  void divGradientIsOneOverTheScalar() throws Exception {
    assertArrayEquals(new float[] {0.25f, 0.25f, 0.25f}, gradientAfterCollection(x -> Ops.div(x, 4)), 0f);
  }

  @Test
  void powGradientUsesTheExponent() throws Exception {
    // d/dx x^3 = 3x^2
    assertArrayEquals(new float[] {3, 12, 27}, gradientAfterCollection(x -> Ops.pow(x, 3)), 1e-5f);
  }

  @Test
  void maximumAndMinimumRouteTheGradientByTheScalar() throws Exception {
    assertArrayEquals(new float[] {0, 1, 1}, gradientAfterCollection(x -> Ops.maximum(x, 1.5)), 0f);
    assertArrayEquals(new float[] {1, 0, 0}, gradientAfterCollection(x -> Ops.minimum(x, 1.5)), 0f);
  }

  @Test
  void inPlaceScalingOfAnIntermediateBackPropagates() throws Exception {
    assertArrayEquals(new float[] {2, 2, 2}, gradientAfterCollection(x -> Ops.muli(x.add(0f), 2)), 0f);
    assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f}, gradientAfterCollection(x -> Ops.divi(x.add(0f), 2)), 0f);
  }

  private static float[] gradientAfterCollection(Function<NDArray, NDArray> op) throws InterruptedException {
    try (NDManager manager = NDManager.newBaseManager()) {
      NDArray x = manager.create(X);
      x.setRequiresGradient(true);
      try (GradMode ignored = GradMode.enabled()) {
        NDArray loss = op.apply(x).sum();
        collectGarbageAndReuseFreedMemory();
        GradMode.backward(loss);
      }
      return x.getGradient().toFloatArray();
    }
  }

  private static void collectGarbageAndReuseFreedMemory() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(20);
    }
    List<ByteBuffer> refill = new ArrayList<>();
    for (int i = 0; i < 10_000; i++) {
      ByteBuffer block = ByteBuffer.allocateDirect(8).order(ByteOrder.nativeOrder());
      block.putFloat(0, 99f).putFloat(4, 99f);
      refill.add(block);
    }
  }
}

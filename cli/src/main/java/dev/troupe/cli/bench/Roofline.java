package dev.troupe.cli.bench;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.ArrayList;
import java.util.List;

/** The machine's ceilings as DJL sees them: fp32 matmul throughput and memory copy bandwidth. */
final class Roofline {
  private Roofline() {}

  /** Best GFLOP/s of an n×n×n fp32 matmul over a few repeats (after a warm-up). */
  static double matmulGflops(NDManager root, int n) {
    try (NDManager m = root.newSubManager()) {
      NDArray a = m.randomNormal(new Shape(n, n));
      NDArray b = m.randomNormal(new Shape(n, n));
      a.matMul(b).close();
      double best = 0;
      for (int i = 0; i < 5; i++) {
        long start = System.nanoTime();
        NDArray c = a.matMul(b);
        c.getFloat(0, 0); // forces completion on asynchronous devices
        double seconds = (System.nanoTime() - start) / 1e9;
        c.close();
        best = Math.max(best, 2.0 * n * n * n / seconds / 1e9);
      }
      return best;
    }
  }

  /**
   * Median GB/s of a native in-place add over {@code bytes}-sized arrays: two arrays read, one
   * written, so 3 × bytes move per pass. (DJL's copyTo goes through the JVM heap; this stays native.)
   */
  static double copyBandwidthGbs(NDManager root, long bytes) {
    try (NDManager m = root.newSubManager()) {
      NDArray src = m.ones(new Shape(bytes / 4));
      NDArray dst = m.zeros(new Shape(bytes / 4));
      dst.addi(src); // touch both once
      List<Double> rates = new ArrayList<>();
      for (int i = 0; i < 7; i++) {
        long start = System.nanoTime();
        dst.addi(src);
        dst.getFloat(0);
        double seconds = (System.nanoTime() - start) / 1e9;
        rates.add(3.0 * bytes / seconds / 1e9);
      }
      return ModelBenchmark.median(rates);
    }
  }
}

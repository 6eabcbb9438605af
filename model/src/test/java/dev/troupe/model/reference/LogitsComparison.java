package dev.troupe.model.reference;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The product's logits for a left-padded batch against the reference's, row by row: the largest
 * absolute difference over every real position and vocabulary entry, relative to the largest
 * reference logit (logits near zero make an entry-wise relative error meaningless).
 */
public final class LogitsComparison {
  /**
   * Five times tighter than the 1e-4: measured 4e-7 to 5e-6 on every checkpoint of
   * CausalLmMatchesReferenceTest, while GPT-2's exact-erf GELU in place of gelu_new moves the
   * logits by only 9.6e-5, which 1e-4 would let through.
   */
  public static final double TOLERANCE = 2e-5;

  private LogitsComparison() {}

  /** Rows of random ids below {@code vocab}, one of each given length, reproducible from {@code seed}. */
  public static List<long[]> rows(int vocab, long seed, int... lengths) {
    SplittableRandom random = new SplittableRandom(seed);
    return java.util.Arrays.stream(lengths)
        .mapToObj(n -> random.longs(n, 0, vocab).toArray())
        .toList();
  }

  /** max |product − reference| / max |reference| over the real tokens of {@code rows}, run as one left-padded batch. */
  @SuppressWarnings("try")
  public static double relativeError(CausalLm model, Adapter adapter, ReferenceModel reference, List<long[]> rows) {
    float[] logits;
    int width;
    try (GradMode ignored = GradMode.disabled(); NDManager step = model.manager().newSubManager()) {
      Batch batch = Batch.leftPadded(step, rows);
      NDArray out = model.forward(batch.ids(), batch.mask(), adapter, false);
      logits = out.toFloatArray();
      width = batch.length();
    }
    int vocab = model.config().vocabSize();
    double maxDiff = 0;
    double maxRef = 0;
    for (int b = 0; b < rows.size(); b++) {
      long[] row = rows.get(b);
      double[][] expected = reference.logits(row);
      int pad = width - row.length;
      for (int t = 0; t < row.length; t++) {
        for (int v = 0; v < vocab; v++) {
          double actual = logits[(b * width + pad + t) * vocab + v];
          maxDiff = Math.max(maxDiff, Math.abs(actual - expected[t][v]));
          maxRef = Math.max(maxRef, Math.abs(expected[t][v]));
        }
      }
    }
    return maxDiff / maxRef;
  }

  /** max |a − b| / max |b| between two reference runs of one sequence. */
  public static double relativeDifference(double[][] a, double[][] b) {
    double maxDiff = 0;
    double maxRef = 0;
    for (int t = 0; t < a.length; t++) {
      for (int v = 0; v < a[t].length; v++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[t][v] - b[t][v]));
        maxRef = Math.max(maxRef, Math.abs(b[t][v]));
      }
    }
    return maxDiff / maxRef;
  }
}

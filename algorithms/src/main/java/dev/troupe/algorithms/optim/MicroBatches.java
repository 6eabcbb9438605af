package dev.troupe.algorithms.optim;

import java.util.ArrayList;
import java.util.List;

/**
 * Gradient accumulation's split of one optimizer step's batch into micro-batches, each run through
 * forward and backward on its own (so that only one micro-batch's activations are alive at a time).
 * Backward adds into {@code .grad}, so scaling each micro-batch's mean loss by its share of the
 * batch's loss terms (see {@link #shares}) leaves exactly the gradient of the whole batch's mean.
 */
public final class MicroBatches {
  private MicroBatches() {}

  /**
   * {@code batch} cut into {@code count} consecutive parts whose sizes differ by at most one (fewer
   * parts when the batch is smaller than {@code count}).
   */
  public static <T> List<List<T>> split(List<T> batch, int count) {
    if (count < 1) {
      throw new IllegalArgumentException("gradient accumulation needs at least 1 micro-batch, got " + count);
    }
    int parts = Math.min(count, batch.size());
    List<List<T>> out = new ArrayList<>(parts);
    int from = 0;
    for (int i = 0; i < parts; i++) {
      int size = batch.size() / parts + (i < batch.size() % parts ? 1 : 0);
      out.add(batch.subList(from, from + size));
      from += size;
    }
    return out;
  }

  /** Each micro-batch's share of the batch's loss terms: {@code terms[i] / sum(terms)}. */
  public static double[] shares(double[] terms) {
    double total = 0;
    for (double t : terms) {
      total += t;
    }
    double[] out = new double[terms.length];
    for (int i = 0; i < terms.length; i++) {
      out[i] = total > 0 ? terms[i] / total : 1.0 / terms.length;
    }
    return out;
  }
}

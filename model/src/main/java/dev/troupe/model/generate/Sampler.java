package dev.troupe.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.Ops;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Picks the next token of every row on the device. Only one uniform number per row crosses from
 * the JVM, drawn from that row's own seeded stream, so a row samples the same tokens whatever it
 * is batched with (other rows, other requests, other threads), while the vocabulary-sized work
 * stays in native code. Rows may sample differently (temperature, top-k, top-p): each run of
 * consecutive rows with the same settings is sampled as one slice.
 */
final class Sampler {
  /** SplitMix64's increment (Steele et al. 2014), the golden ratio in 64 bits. */
  private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

  private final List<SamplingParams> params;
  private final SplittableRandom[] streams; // null for greedy rows: they draw nothing
  private final List<int[]> runs; // [start, end) of rows sampled alike

  /** Picks of one step: a token id and its log-prob (at the row's temperature) per row. */
  record Picks(long[] ids, float[] logProbs) {}

  /**
   * @param params each row's sampling settings (its seed among them)
   * @param streamIndex each row's index in its request: row i's stream is {@link #stream}(seed_i, streamIndex_i)
   */
  Sampler(List<SamplingParams> params, int[] streamIndex) {
    if (params.size() != streamIndex.length) {
      throw new IllegalArgumentException(params.size() + " rows of sampling settings but " + streamIndex.length
          + " stream indices");
    }
    this.params = List.copyOf(params);
    this.streams = new SplittableRandom[params.size()];
    for (int row = 0; row < streams.length; row++) {
      SamplingParams p = params.get(row);
      streams[row] = p.greedy() ? null : stream(p.seed(), streamIndex[row]);
    }
    this.runs = new ArrayList<>();
    int start = 0;
    for (int row = 1; row <= params.size(); row++) {
      if (row == params.size() || !samplesAlike(params.get(start), params.get(row))) {
        runs.add(new int[] {start, row});
        start = row;
      }
    }
  }

  /**
   * The random stream of row {@code row} of a call seeded {@code seed}: seeded with the row-th
   * output of SplitMix64 started at {@code seed}, so streams of neighbouring rows and neighbouring
   * seeds are unrelated, and a row's stream depends on nothing but (seed, row).
   */
  static SplittableRandom stream(long seed, int row) {
    return new SplittableRandom(mix64(seed + GOLDEN_GAMMA * (row + 1L)));
  }

  /** SplitMix64's finalizer (Stafford's variant 13). */
  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  private static boolean samplesAlike(SamplingParams a, SamplingParams b) {
    return a.temperature() == b.temperature() && a.topK() == b.topK() && a.topP() == b.topP();
  }

  /** Next token ids and their log-probs for logits [B, V] (fp32). */
  Picks next(NDArray logits, NDManager step) {
    int batch = Math.toIntExact(logits.getShape().get(0));
    if (batch != streams.length) {
      throw new IllegalArgumentException("logits of " + batch + " rows for a sampler of " + streams.length);
    }
    long[] ids = new long[batch];
    float[] logProbs = new float[batch];
    for (int[] run : runs) {
      NDArray slice = runs.size() == 1 ? logits : logits.get(new NDIndex("{}:{}", run[0], run[1]));
      NDList picked = next(slice, params.get(run[0]), run[0], step);
      System.arraycopy(picked.get(0).toLongArray(), 0, ids, run[0], run[1] - run[0]);
      System.arraycopy(picked.get(1).toFloatArray(), 0, logProbs, run[0], run[1] - run[0]);
    }
    return new Picks(ids, logProbs);
  }

  /** The n rows from {@code from} on, sampled alike with {@code params}: {ids [n] int64, logProbs [n] fp32}. */
  private NDList next(NDArray logits, SamplingParams params, int from, NDManager step) {
    long batch = logits.getShape().get(0);
    long vocab = logits.getShape().get(1);
    if (params.greedy()) {
      NDArray ids = logits.argMax(1);
      NDArray logProbs = logits.logSoftmax(1).gather(ids.expandDims(1), 1).squeeze(1);
      return new NDList(ids, logProbs);
    }
    NDArray scaled = Ops.div(logits, params.temperature());
    NDArray logProbsAll = scaled.logSoftmax(1);
    NDArray candidates;
    NDArray candidateIds = null;
    if (params.topP() < 1.0) {
      // Sort once; top-k then is a prefix, top-p the prefix whose mass before it is < p.
      NDArray order = scaled.argSort(1, false);
      candidates = scaled.gather(order, 1);
      candidateIds = order;
      NDArray probs = candidates.softmax(1);
      NDArray massBefore = probs.cumSum(1).subi(probs);
      NDArray drop = massBefore.gt(params.topP());
      if (params.topK() > 0 && params.topK() < vocab) {
        NDArray rank = step.arange(0, (int) vocab).reshape(1, vocab);
        drop = drop.logicalOr(rank.gte(params.topK()));
      }
      candidates = candidates.sub(Ops.muli(drop.toType(DataType.FLOAT32, false), 1e30));
    } else if (params.topK() > 0 && params.topK() < vocab) {
      NDList top = scaled.topK(params.topK(), 1, true, false);
      candidates = top.get(0);
      candidateIds = top.get(1);
    } else {
      candidates = scaled;
    }
    // Inverse-CDF sampling with one uniform per row, drawn from the row's own stream.
    NDArray cdf = candidates.softmax(1).cumSum(1);
    float[] u = new float[Math.toIntExact(batch)];
    for (int i = 0; i < u.length; i++) {
      u[i] = (float) streams[from + i].nextDouble();
    }
    NDArray threshold = step.create(u, new Shape(batch, 1)).mul(cdf.get(":, -1:"));
    NDArray index = Ops.minimum(cdf.lt(threshold).sum(new int[] {1}), cdf.getShape().get(1) - 1)
        .toType(DataType.INT64, false).expandDims(1);
    NDArray ids = candidateIds == null ? index : candidateIds.gather(index, 1);
    NDArray logProbs = logProbsAll.gather(ids, 1).squeeze(1);
    return new NDList(ids.squeeze(1), logProbs);
  }
}

package dev.troupe.model.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.Ops;
import dev.troupe.model.quant.FrozenWeight;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which adapter each row of a batch runs through, so that requests of different loops share one
 * forward pass (multi-adapter batching as in S-LoRA, Sheng et al. 2023, and Punica, Chen et al.
 * 2023): every frozen base projection runs once for all rows, then each row adds its own adapter's
 * low-rank update, or none. LoRA and DoRA adapters of any ranks and targets mix freely.
 *
 * <p>A batch with one adapter for every row takes exactly the single-adapter path. A mixed batch is
 * for inference only; it owns what it precomputes per layer (DoRA scales, stacked factors) and frees
 * it on {@link #close}.
 */
public final class RowAdapters implements AutoCloseable {

  /** How a mixed batch computes its rows' updates; both give the same numbers up to rounding. */
  public enum Strategy {
    /**
     * Per run of consecutive rows with one adapter, that adapter's two small matmuls on the run's
     * slice, then one concatenation (Punica's SGMV over contiguous segments; a caller that sorts rows
     * by adapter gets one run per adapter).
     */
    SEGMENTED,
    /**
     * Every adapter's A and B stacked with ranks zero-padded to the largest, laid out per row once
     * per batch, then two batched matmuls for all rows at once (Punica's BGMV). The per-row copies
     * take rows × rank × (in + out) numbers per adapted linear; linears beyond the batch's budget
     * for them ({@link #DEFAULT_GATHER_BUDGET_BYTES}) are computed {@link #SEGMENTED}.
     */
    GATHERED
  }

  /**
   * Bytes of per-row factors a {@link Strategy#GATHERED} batch lays out at most: every linear of a
   * small model, the first of a large one's (a Llama 7B's 224 adapted linears at rank 16 and 64 rows
   * would need about 10 GB in fp32).
   */
  public static final long DEFAULT_GATHER_BUDGET_BYTES = 256L << 20;

  /** Rows [start, end) running through {@code adapter} (null: the base). */
  private record Run(int start, int end, Adapter adapter) {
    LoraLayer layer(String path) {
      return adapter == null ? null : adapter.layer(path);
    }
  }

  /** One linear's factors laid out per row: xᵀ·A_rowsᵀ·B_rows (scaling folded in), times a DoRA scale. */
  private record Gathered(NDArray aT, NDArray bT, NDArray scale) {}

  private static final Gathered UNTOUCHED = new Gathered(null, null, null);
  /** A linear whose per-row factors would exceed the budget: computed segmented instead. */
  private static final Gathered OVER_BUDGET = new Gathered(null, null, null);

  private final List<Run> runs;
  private final int rows; // -1: any number of rows (one adapter for all)
  private final Strategy strategy;
  private final NDManager manager; // null for one adapter: nothing is precomputed
  private final Map<LoraLayer, NDArray> doraScales = new IdentityHashMap<>();
  private final Map<String, Gathered> gathered = new HashMap<>();
  private final long gatherBudgetBytes;
  private long gatheredBytes;

  private RowAdapters(List<Run> runs, int rows, Strategy strategy, NDManager manager, long gatherBudgetBytes) {
    this.runs = runs;
    this.rows = rows;
    this.strategy = strategy;
    this.manager = manager;
    this.gatherBudgetBytes = gatherBudgetBytes;
  }

  /** Every row through {@code adapter} (null: the base, the reference policy), whatever the batch size. */
  public static RowAdapters all(Adapter adapter) {
    return new RowAdapters(List.of(new Run(0, Integer.MAX_VALUE, adapter)), -1, Strategy.SEGMENTED, null, 0);
  }

  /**
   * Row i through {@code perRow.get(i)} (null: the base). What is precomputed lives in a sub-manager
   * of {@code parent}; close this (or {@code parent}) after the batch.
   */
  public static RowAdapters of(List<Adapter> perRow, Strategy strategy, NDManager parent) {
    return of(perRow, strategy, parent, DEFAULT_GATHER_BUDGET_BYTES);
  }

  /** As {@link #of(List, Strategy, NDManager)} with {@code gatherBudgetBytes} for GATHERED's per-row factors. */
  public static RowAdapters of(List<Adapter> perRow, Strategy strategy, NDManager parent, long gatherBudgetBytes) {
    if (gatherBudgetBytes < 0) {
      throw new IllegalArgumentException("gatherBudgetBytes must be >= 0, got " + gatherBudgetBytes);
    }
    if (perRow.isEmpty()) {
      throw new IllegalArgumentException("a batch needs at least one row");
    }
    List<Run> runs = new ArrayList<>();
    int start = 0;
    for (int row = 1; row <= perRow.size(); row++) {
      if (row == perRow.size() || perRow.get(row) != perRow.get(start)) {
        runs.add(new Run(start, row, perRow.get(start)));
        start = row;
      }
    }
    return new RowAdapters(List.copyOf(runs), perRow.size(), strategy, parent.newSubManager(), gatherBudgetBytes);
  }

  /** Rows this batch has, or -1 when one adapter serves any number. */
  public int rows() {
    return rows;
  }

  /** Bytes of per-row factors this batch has laid out so far (GATHERED only; at most its budget). */
  public long gatheredBytes() {
    return gatheredBytes;
  }

  /** Whether any row runs through an adapter (false: the plain base for every row). */
  public boolean anyAdapter() {
    return runs.stream().anyMatch(r -> r.adapter() != null);
  }

  /** The adapter of every row when all share one (null: the base); throws for a mixed batch. */
  public Adapter single() {
    if (runs.size() != 1) {
      throw new IllegalStateException("rows run through " + runs.size() + " different adapters");
    }
    return runs.get(0).adapter();
  }

  /** Adds each row's adapter update for the linear at {@code path} to its base output (no bias yet). */
  NDArray adapt(String path, NDArray x, NDArray baseOut, FrozenWeight weight, boolean training) {
    if (runs.size() == 1) {
      LoraLayer lora = runs.get(0).layer(path);
      return lora == null ? baseOut : lora.apply(x, baseOut, weight, training);
    }
    if (training) {
      throw new IllegalStateException("a batch whose rows run through different adapters is for inference;"
          + " train one adapter per batch");
    }
    if (x.getShape().get(0) != rows) {
      throw new IllegalArgumentException("adapters name " + rows + " rows but " + path + " got a batch of "
          + x.getShape().get(0));
    }
    return strategy == Strategy.GATHERED ? gathered(path, x, baseOut, weight) : segmented(path, x, baseOut, weight);
  }

  private NDArray segmented(String path, NDArray x, NDArray baseOut, FrozenWeight weight) {
    NDList parts = new NDList(runs.size());
    boolean adapted = false;
    for (Run run : runs) {
      NDIndex slice = new NDIndex("{}:{}", run.start(), run.end());
      NDArray out = baseOut.get(slice);
      LoraLayer lora = run.layer(path);
      if (lora != null) {
        adapted = true;
        // The same operations as LoraLayer.apply on these rows alone.
        out = out.add(lora.update(x.get(slice)));
        if (lora.isDora()) {
          out = out.mul(doraScale(lora, weight));
        }
      }
      parts.add(out);
    }
    return adapted ? NDArrays.concat(parts, 0) : baseOut;
  }

  private NDArray gathered(String path, NDArray x, NDArray baseOut, FrozenWeight weight) {
    Gathered g = gathered.computeIfAbsent(path, p -> gather(p, weight, x.getDataType()));
    if (g == UNTOUCHED) {
      return baseOut;
    }
    if (g == OVER_BUDGET) {
      return segmented(path, x, baseOut, weight);
    }
    // [B, T, in] · [B, in, r] · [B, r, out]: both factors already per row.
    NDArray out = baseOut.add(x.matMul(g.aT()).matMul(g.bT()));
    return g.scale() == null ? out : out.mul(g.scale());
  }

  /** The factors of every row for one linear, zero where a row's adapter does not touch it. */
  private Gathered gather(String path, FrozenWeight weight, DataType dtype) {
    long rank = 0;
    boolean dora = false;
    for (Run run : runs) {
      LoraLayer lora = run.layer(path);
      if (lora != null) {
        rank = Math.max(rank, lora.a().getShape().get(0));
        dora |= lora.isDora();
      }
    }
    if (rank == 0) {
      return UNTOUCHED;
    }
    long in = weight.inFeatures();
    long out = weight.outFeatures();
    long bytes = (long) rows * (rank * (in + out) + (dora ? out : 0)) * dtype.getNumOfBytes();
    if (gatheredBytes + bytes > gatherBudgetBytes) {
      return OVER_BUDGET;
    }
    gatheredBytes += bytes;
    Map<LoraLayer, NDArray[]> padded = new IdentityHashMap<>();
    NDList a = new NDList();
    NDList b = new NDList();
    NDList scales = new NDList();
    for (Run run : runs) {
      long n = run.end() - run.start();
      LoraLayer lora = run.layer(path);
      if (lora == null) {
        a.add(manager.zeros(new Shape(n, rank, in), dtype));
        b.add(manager.zeros(new Shape(n, rank, out), dtype));
        if (dora) {
          scales.add(manager.ones(new Shape(n, 1, out), dtype));
        }
        continue;
      }
      final long r = rank;
      NDArray[] ab = padded.computeIfAbsent(lora, l -> padded(l, r, in, out, dtype));
      a.add(ab[0].expandDims(0).broadcast(new Shape(n, rank, in)));
      b.add(ab[1].expandDims(0).broadcast(new Shape(n, rank, out)));
      if (dora) {
        scales.add(lora.isDora()
            ? doraScale(lora, weight).toType(dtype, false).reshape(1, 1, out).broadcast(new Shape(n, 1, out))
            : manager.ones(new Shape(n, 1, out), dtype));
      }
    }
    NDArray aT = NDArrays.concat(a, 0).transpose(0, 2, 1);
    aT.attach(manager);
    return new Gathered(aT, NDArrays.concat(b, 0), dora ? NDArrays.concat(scales, 0) : null);
  }

  /** A [rank, in] and s·Bᵀ [rank, out], zero-padded to {@code rank} rows: padding adds exact zeros. */
  private NDArray[] padded(LoraLayer lora, long rank, long in, long out, DataType dtype) {
    long r = lora.a().getShape().get(0);
    NDArray a = manager.zeros(new Shape(rank, in), dtype);
    a.set(new NDIndex("0:{}", r), lora.a());
    NDArray bT = lora.b().transpose();
    bT.attach(manager); // off the adapter's manager, which outlives this batch
    NDArray b = manager.zeros(new Shape(rank, out), dtype);
    b.set(new NDIndex("0:{}", r), Ops.mul(bT, lora.scaling()));
    return new NDArray[] {a, b};
  }

  /** DoRA's m / ‖W + s·BA‖ of one layer, computed once per batch (it depends on no input). */
  private NDArray doraScale(LoraLayer lora, FrozenWeight weight) {
    return doraScales.computeIfAbsent(lora, l -> l.magnitudeScale(weight, manager));
  }

  @Override
  public void close() {
    if (manager != null) {
      manager.close();
    }
  }
}

package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.autograd.Ops;

/**
 * Keys and values of every layer for a batch being decoded, preallocated to a capacity so a step
 * writes one slot in place instead of copying the whole cache; also which slots hold real tokens
 * (left padding) and how many real tokens each row has seen (its next position).
 */
public final class KvCache implements AutoCloseable {
  private final NDManager manager;
  private final NDArray[] keys; // per layer [B, kvHeads, capacity, headDim]
  private final NDArray[] values;
  private final NDArray valid; // [B, capacity], 1 where a real token sits
  private final NDArray counts; // [B], real tokens so far
  private final int capacity;
  private int length;

  /** A cache for {@code batch} rows of up to {@code capacity} slots, owned by a sub-manager of {@code parent}. */
  public KvCache(ModelConfig config, int batch, int capacity, DataType dtype, NDManager parent) {
    if (capacity > config.maxPositions()) {
      throw new IllegalArgumentException("a sequence of " + capacity
          + " tokens exceeds max_position_embeddings " + config.maxPositions());
    }
    this.manager = parent.newSubManager();
    this.capacity = capacity;
    Shape shape = new Shape(batch, config.numKvHeads(), capacity, config.headDim());
    keys = new NDArray[config.numLayers()];
    values = new NDArray[config.numLayers()];
    for (int i = 0; i < keys.length; i++) {
      keys[i] = manager.zeros(shape, dtype);
      values[i] = manager.zeros(shape, dtype);
    }
    valid = manager.zeros(new Shape(batch, capacity), DataType.FLOAT32);
    counts = manager.zeros(new Shape(batch), DataType.FLOAT32);
  }

  public int length() {
    return length;
  }

  public int capacity() {
    return capacity;
  }

  /**
   * Registers the next {@code t} slots' mask [B, t] (float 0/1) and returns the positions [B, t]
   * (int64) of those tokens, owned by {@code step}.
   */
  NDArray admit(NDArray mask, NDManager step) {
    int t = Math.toIntExact(mask.getShape().get(1));
    if (length + t > capacity) {
      throw new IllegalStateException("KV cache full: " + length + " + " + t + " > capacity " + capacity);
    }
    valid.set(new NDIndex(":, {}:{}", length, length + t), mask);
    NDArray before = counts.expandDims(1);
    before.attach(step);
    NDArray positions = Ops.maximum(mask.cumSum(1).addi(before).subi(1), 0).toType(DataType.INT64, false);
    counts.addi(mask.sum(new int[] {1}));
    return positions;
  }

  /** The validity of all slots written so far plus the admitted ones, [B, length + t], owned by {@code step}. */
  NDArray validUpTo(int end, NDManager step) {
    NDArray view = valid.get(new NDIndex(":, :{}", end));
    view.attach(step);
    return view;
  }

  /** Writes this chunk's keys and values [B, kvHeads, t, headDim] at the current length. */
  void write(int layer, NDArray k, NDArray v) {
    int t = Math.toIntExact(k.getShape().get(2));
    NDIndex slots = new NDIndex(":, :, {}:{}", length, length + t);
    keys[layer].set(slots, k);
    values[layer].set(slots, v);
  }

  /** Keys of slots [0, end) of one layer, as a view owned by {@code step}. */
  NDArray keys(int layer, int end, NDManager step) {
    NDArray view = keys[layer].get(new NDIndex(":, :, :{}", end));
    view.attach(step);
    return view;
  }

  NDArray values(int layer, int end, NDManager step) {
    NDArray view = values[layer].get(new NDIndex(":, :, :{}", end));
    view.attach(step);
    return view;
  }

  /** Called after every layer has written the chunk. */
  void advance(int t) {
    length += t;
  }

  @Override
  public void close() {
    manager.close();
  }
}

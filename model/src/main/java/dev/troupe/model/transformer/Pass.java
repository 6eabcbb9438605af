package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import dev.troupe.model.lora.RowAdapters;

/**
 * What every block of one forward pass shares: the adapter of each row, the rotary tables and
 * attention bias computed once, the cache and where this chunk starts in it.
 */
record Pass(
    NDManager step,
    RowAdapters adapters,
    boolean training,
    Rope rope,
    NDList ropeTables,
    NDArray attentionBias,
    KvCache cache,
    int past) {}

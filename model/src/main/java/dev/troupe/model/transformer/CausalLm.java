package dev.troupe.model.transformer;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.autograd.Ops;
import dev.troupe.model.config.Architecture;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.lora.AdaptedLinear;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.RowAdapters;
import dev.troupe.model.quant.DenseWeight;
import dev.troupe.model.quant.FrozenWeight;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.quant.Quantizer;
import dev.troupe.model.transformer.WeightNames.Projection;
import dev.troupe.model.transformer.WeightSource.Init;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A decoder-only language model (Llama or GPT-2 family) over one frozen base, serving any number of
 * named LoRA / DoRA adapters at once: each forward call names its adapter, or none for the base
 * (which is the reference policy). Thread-safe for concurrent forwards with different adapters.
 */
public final class CausalLm implements AutoCloseable {
  private final ModelConfig config;
  private final NDManager manager;
  private final DataType dtype;
  private final Quantization quantization;
  private final NDArray embedding; // [vocab, hidden]
  private final NDArray positionEmbedding; // GPT-2 only
  private final List<Block> blocks;
  private final Norm finalNorm;
  private final NDArray lmHead; // == embedding when tied
  private final Rope rope; // Llama only
  private final Map<String, Adapter> adapters = new ConcurrentHashMap<>();
  private volatile String mergedAdapter;

  private CausalLm(ModelConfig config, WeightSource source, NDManager manager, DataType dtype,
      Quantization quantization) throws ModelFormatException {
    this.config = config;
    this.manager = manager;
    this.dtype = dtype;
    this.quantization = quantization;
    Architecture arch = config.architecture();
    int hidden = config.hiddenSize();
    embedding = source.take(WeightNames.embedding(arch), new Shape(config.vocabSize(), hidden), Init.NORMAL, false);
    positionEmbedding = arch == Architecture.GPT2
        ? source.take(WeightNames.positionEmbedding(), new Shape(config.maxPositions(), hidden), Init.NORMAL, false)
        : null;
    blocks = new ArrayList<>();
    for (int i = 0; i < config.numLayers(); i++) {
      blocks.add(arch == Architecture.LLAMA ? llamaBlock(source, i) : gpt2Block(source, i));
    }
    finalNorm = norm(source, WeightNames.finalNorm(arch));
    boolean tied = config.tieWordEmbeddings() && !source.has(WeightNames.lmHead());
    if (tied) {
      lmHead = embedding;
    } else {
      lmHead = source.take(WeightNames.lmHead(), new Shape(config.vocabSize(), hidden), Init.NORMAL, false);
    }
    rope = arch == Architecture.LLAMA
        ? new Rope(config.headDim(), config.maxPositions(),
            config.ropeScaling().inverseFrequencies(config.headDim(), config.ropeTheta()), manager)
        : null;
    source.finish();
  }

  /** A randomly initialised model (N(0, 0.02) weights, unit norms), reproducible from {@code seed}. */
  public static CausalLm random(ModelConfig config, long seed, NDManager parent, DataType dtype,
      Quantization quantization) {
    NDManager manager = parent.newSubManager();
    try {
      return new CausalLm(config, WeightSource.random(seed, manager, dtype, 0.02), manager, dtype, quantization);
    } catch (ModelFormatException e) {
      manager.close();
      throw new IllegalStateException("random initialisation cannot miss a tensor", e);
    }
  }

  public static CausalLm random(ModelConfig config, long seed, NDManager parent) {
    return random(config, seed, parent, DataType.FLOAT32, Quantization.NONE);
  }

  /** Builds a model from named HF tensors (taking ownership of them); errors name {@code source}. */
  public static CausalLm fromTensors(ModelConfig config, Map<String, NDArray> tensors,
      java.nio.file.Path source, NDManager parent, DataType dtype, Quantization quantization)
      throws ModelFormatException {
    NDManager manager = parent.newSubManager();
    tensors.values().forEach(t -> t.attach(manager));
    try {
      return new CausalLm(config, WeightSource.checkpoint(source, config.architecture(), tensors, dtype),
          manager, dtype, quantization);
    } catch (ModelFormatException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  private Block llamaBlock(WeightSource source, int i) throws ModelFormatException {
    String prefix = WeightNames.layer(Architecture.LLAMA, i);
    int hidden = config.hiddenSize();
    int kv = config.numKvHeads() * config.headDim();
    int inter = config.intermediateSize();
    boolean qkvBias = config.qkvBias();
    boolean outBias = config.outputBias();
    Attention attention = new Attention(config, i,
        linear(source, prefix, WeightNames.LLAMA_Q, hidden, hidden, qkvBias),
        linear(source, prefix, WeightNames.LLAMA_K, kv, hidden, qkvBias),
        linear(source, prefix, WeightNames.LLAMA_V, kv, hidden, qkvBias),
        null,
        linear(source, prefix, WeightNames.LLAMA_O, hidden, hidden, outBias));
    Mlp mlp = new Mlp(
        linear(source, prefix, WeightNames.LLAMA_GATE, inter, hidden, config.mlpBias()),
        linear(source, prefix, WeightNames.LLAMA_UP, inter, hidden, config.mlpBias()),
        linear(source, prefix, WeightNames.LLAMA_DOWN, hidden, inter, config.mlpBias()));
    return new Block(norm(source, prefix + "." + WeightNames.attentionNorm(Architecture.LLAMA)), attention,
        norm(source, prefix + "." + WeightNames.mlpNorm(Architecture.LLAMA)), mlp);
  }

  private Block gpt2Block(WeightSource source, int i) throws ModelFormatException {
    String prefix = WeightNames.layer(Architecture.GPT2, i);
    int hidden = config.hiddenSize();
    int inter = config.intermediateSize();
    Attention attention = new Attention(config, i, null, null, null,
        linear(source, prefix, WeightNames.GPT2_QKV, 3 * hidden, hidden, true),
        linear(source, prefix, WeightNames.GPT2_O, hidden, hidden, true));
    Mlp mlp = new Mlp(null,
        linear(source, prefix, WeightNames.GPT2_FC, inter, hidden, true),
        linear(source, prefix, WeightNames.GPT2_PROJ, hidden, inter, true));
    return new Block(norm(source, prefix + "." + WeightNames.attentionNorm(Architecture.GPT2)), attention,
        norm(source, prefix + "." + WeightNames.mlpNorm(Architecture.GPT2)), mlp);
  }

  private AdaptedLinear linear(WeightSource source, String prefix, Projection projection, int out,
      int in, boolean bias) throws ModelFormatException {
    String path = prefix + "." + projection.path();
    NDArray dense = source.take(path + ".weight", new Shape(out, in), Init.NORMAL, projection.conv1d());
    FrozenWeight weight;
    if (quantization == Quantization.NONE) {
      weight = new DenseWeight(dense);
    } else {
      weight = Quantizer.quantize(dense, quantization, manager);
      dense.close();
    }
    NDArray b = bias ? source.take(path + ".bias", new Shape(out), Init.ZEROS, false) : null;
    return new AdaptedLinear(path, weight, b);
  }

  private Norm norm(WeightSource source, String path) throws ModelFormatException {
    Shape shape = new Shape(config.hiddenSize());
    NDArray weight = source.take(path + ".weight", shape, Init.ONES, false);
    NDArray bias = config.architecture() == Architecture.GPT2
        ? source.take(path + ".bias", shape, Init.ZEROS, false)
        : null;
    return new Norm(weight, bias, config.normEps());
  }

  public ModelConfig config() {
    return config;
  }

  public DataType dtype() {
    return dtype;
  }

  public Quantization quantization() {
    return quantization;
  }

  /** The manager owning the base weights; per-request managers are made as its sub-managers. */
  public NDManager manager() {
    return manager;
  }

  /**
   * Final hidden states [B, T, hidden] for token ids [B, T] (int64) with a padding mask [B, T]
   * (1 = token, 0 = pad; null = no padding). Left padding is what batched generation uses: each
   * row's positions count only its real tokens. With a cache, the chunk is appended to it and
   * attends to everything cached before. Results and intermediates belong to ids' manager.
   */
  public NDArray hidden(NDArray ids, NDArray mask, KvCache cache, Adapter adapter, boolean training) {
    return hiddenPerRow(ids, mask, cache, RowAdapters.all(adapter), training);
  }

  /**
   * As {@link #hidden(NDArray, NDArray, KvCache, Adapter, boolean)} with each row through its own
   * adapter: the base runs once for the whole batch, each row adds its adapter's update.
   */
  public NDArray hiddenPerRow(NDArray ids, NDArray mask, KvCache cache, RowAdapters adapters, boolean training) {
    if (adapters.anyAdapter() && mergedAdapter != null) {
      throw new IllegalStateException("adapter '" + mergedAdapter
          + "' is merged into the base; unmerge it before serving adapters");
    }
    NDManager step = ids.getManager();
    long b = ids.getShape().get(0);
    if (adapters.rows() >= 0 && adapters.rows() != b) {
      throw new IllegalArgumentException("adapters are given for " + adapters.rows() + " rows but the batch has " + b);
    }
    int t = Math.toIntExact(ids.getShape().get(1));
    int past = cache == null ? 0 : cache.length();
    if (past + t > config.maxPositions()) {
      throw new IllegalArgumentException("a sequence of " + (past + t)
          + " tokens exceeds max_position_embeddings " + config.maxPositions());
    }
    NDArray mask32 = mask == null ? step.ones(new Shape(b, t)) : mask.toType(DataType.FLOAT32, false);
    NDArray positions;
    NDArray valid;
    if (cache == null) {
      positions = Ops.maximum(mask32.cumSum(1).subi(1), 0).toType(DataType.INT64, false);
      valid = mask32;
    } else {
      positions = cache.admit(mask32, step);
      valid = cache.validUpTo(past + t, step);
    }
    NDArray x = Ops.embedding(ids, embedding);
    if (positionEmbedding != null) {
      x = x.addi(Ops.embedding(positions, positionEmbedding));
    }
    NDList ropeTables = rope == null ? null : rope.tables(positions);
    Pass pass = new Pass(step, adapters, training, rope, ropeTables, attentionBias(valid, past, t, step), cache, past);
    for (Block block : blocks) {
      x = block.forward(x, pass);
    }
    if (cache != null) {
      cache.advance(t);
    }
    return finalNorm.forward(x);
  }

  /** Vocabulary logits [.., vocab] in fp32 for hidden states [.., hidden]. */
  public NDArray logits(NDArray hidden) {
    return Ops.linear(hidden, lmHead, null).toType(DataType.FLOAT32, false);
  }

  /** Logits [B, T, vocab] of a whole batch (no cache): the plain forward pass. */
  public NDArray forward(NDArray ids, NDArray mask, Adapter adapter, boolean training) {
    return logits(hidden(ids, mask, null, adapter, training));
  }

  /** Logits [B, T, vocab] of a whole batch whose rows run through their own adapters. */
  public NDArray forwardPerRow(NDArray ids, NDArray mask, RowAdapters adapters, boolean training) {
    return logits(hiddenPerRow(ids, mask, null, adapters, training));
  }

  /**
   * Additive attention bias [B, 1, 1, T, S]: 0 where query i may see key j (j is a real token and
   * not in i's future), -1e9 elsewhere. Finite, so a padding row's softmax stays defined.
   */
  private static NDArray attentionBias(NDArray valid, int past, int t, NDManager step) {
    int s = past + t;
    NDArray rows = step.arange(past, past + t).reshape(t, 1);
    NDArray cols = step.arange(0, s).reshape(1, s);
    NDArray causal = cols.lte(rows); // [T, S]
    NDArray allowed = valid.gt(0.5f).expandDims(1).logicalAnd(causal.expandDims(0)); // [B, T, S]
    return Ops.muli(allowed.toType(DataType.FLOAT32, false).subi(1), 1e9).expandDims(1).expandDims(1);
  }

  // ---- adapters ---------------------------------------------------------------------------

  /** Every adaptable linear of the base, in model order. */
  public List<AdaptedLinear> linears() {
    List<AdaptedLinear> all = new ArrayList<>();
    for (Block block : blocks) {
      block.attention.forEachLinear(all::add);
      block.mlp.forEachLinear(all::add);
    }
    return all;
  }

  /** Creates and registers a fresh adapter (A random from {@code seed}, B = 0: the base's outputs at first). */
  public Adapter createAdapter(String name, LoraConfig loraConfig, long seed) {
    Adapter adapter = Adapter.create(name, loraConfig, seed, linears(), manager.newSubManager(),
        config.modelType());
    return register(adapter);
  }

  /** Registers an adapter built elsewhere (loaded from PEFT, received from a learner). */
  public Adapter register(Adapter adapter) {
    Adapter previous = adapters.putIfAbsent(adapter.name(), adapter);
    if (previous != null) {
      adapter.close();
      throw new IllegalArgumentException("an adapter named '" + adapter.name() + "' is already loaded");
    }
    return adapter;
  }

  /** Swaps in a new version of an adapter atomically (requests already running keep the old one). */
  public Adapter replace(Adapter adapter) {
    Adapter old = adapters.put(adapter.name(), adapter);
    if (old != null && old != adapter) {
      old.close();
    }
    return adapter;
  }

  public Adapter adapter(String name) {
    Adapter adapter = adapters.get(name);
    if (adapter == null) {
      throw new IllegalArgumentException("no adapter named '" + name + "' (loaded: " + adapterNames() + ")");
    }
    return adapter;
  }

  public Set<String> adapterNames() {
    return new TreeSet<>(adapters.keySet());
  }

  public void removeAdapter(String name) {
    Adapter adapter = adapters.remove(name);
    if (adapter != null) {
      adapter.close();
    }
  }

  /** Folds an adapter into the dense base weights (W += s·B·A); forwards with adapters are refused until unmerged. */
  public synchronized void mergeAdapter(String name) {
    if (mergedAdapter != null) {
      throw new IllegalStateException("adapter '" + mergedAdapter + "' is already merged");
    }
    adapter(name).mergeInto(linears(), +1);
    mergedAdapter = name;
  }

  /** Undoes {@link #mergeAdapter}: W -= s·B·A. */
  public synchronized void unmergeAdapter() {
    if (mergedAdapter == null) {
      throw new IllegalStateException("no adapter is merged");
    }
    adapter(mergedAdapter).mergeInto(linears(), -1);
    mergedAdapter = null;
  }

  // ---- weights ------------------------------------------------------------------------------

  /**
   * The base weights under HF's names and layouts (GPT-2 projections back in Conv1D [in, out];
   * quantized weights dequantized to fp32), owned by {@code scratch}.
   */
  public Map<String, NDArray> stateDict(NDManager scratch) {
    Map<String, NDArray> out = new LinkedHashMap<>();
    Architecture arch = config.architecture();
    out.put(WeightNames.embedding(arch), embedding);
    if (positionEmbedding != null) {
      out.put(WeightNames.positionEmbedding(), positionEmbedding);
    }
    for (int i = 0; i < blocks.size(); i++) {
      String prefix = WeightNames.layer(arch, i);
      Block block = blocks.get(i);
      putNorm(out, prefix + "." + WeightNames.attentionNorm(arch), block.attentionNorm);
      putNorm(out, prefix + "." + WeightNames.mlpNorm(arch), block.mlpNorm);
    }
    for (AdaptedLinear linear : linears()) {
      NDArray w = linear.weight() instanceof DenseWeight dense ? dense.array() : linear.weight().dense(scratch);
      if (arch == Architecture.GPT2) {
        w = w.transpose();
        w.attach(scratch);
      }
      out.put(linear.path() + ".weight", w);
      if (linear.bias() != null) {
        out.put(linear.path() + ".bias", linear.bias());
      }
    }
    putNorm(out, WeightNames.finalNorm(arch), finalNorm);
    if (lmHead != embedding) {
      out.put(WeightNames.lmHead(), lmHead);
    }
    return out;
  }

  private static void putNorm(Map<String, NDArray> out, String path, Norm norm) {
    out.put(path + ".weight", norm.weight());
    if (norm.bias() != null) {
      out.put(path + ".bias", norm.bias());
    }
  }

  /** Every base tensor that full fine-tuning would train (dense bases only). */
  public List<NDArray> baseParameters() {
    if (quantization != Quantization.NONE) {
      throw new IllegalStateException("a " + quantization + " base is frozen; train an adapter instead");
    }
    try (NDManager scratch = manager.newSubManager()) {
      List<NDArray> params = new ArrayList<>();
      for (Map.Entry<String, NDArray> e : stateDict(scratch).entrySet()) {
        if (e.getValue().getManager() != scratch) {
          params.add(e.getValue());
        }
      }
      return params;
    }
  }

  /** Parameters of the base: all tensors, and the non-embedding part (for LoRA fractions and FLOP counts). */
  public long parameterCount(boolean includeEmbeddings) {
    long n = 0;
    for (AdaptedLinear linear : linears()) {
      n += linear.weight().outFeatures() * linear.weight().inFeatures();
      n += linear.bias() == null ? 0 : linear.bias().size();
    }
    long normSize = (finalNorm.weight().size()) * (finalNorm.bias() == null ? 1 : 2);
    n += normSize * (2L * blocks.size() + 1);
    if (includeEmbeddings) {
      n += embedding.size() + (lmHead != embedding ? lmHead.size() : 0);
      n += positionEmbedding == null ? 0 : positionEmbedding.size();
    }
    return n;
  }

  /** Bytes the base occupies as stored (quantized linears at their packed size). */
  public long storedBytes() {
    long bytes = 0;
    for (AdaptedLinear linear : linears()) {
      bytes += linear.weight().storedBytes();
    }
    return bytes;
  }

  @Override
  public void close() {
    adapters.values().forEach(Adapter::close);
    adapters.clear();
    manager.close();
  }
}

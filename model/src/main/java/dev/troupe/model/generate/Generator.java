package dev.troupe.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.RowAdapters;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.model.transformer.KvCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Batched generation with a KV cache: prompts are left-padded, prefilled in one pass, then decoded
 * one token per step for the whole batch until every row has stopped. Rows may run through
 * different adapters and sample differently (requests of several loops in one batch); each row
 * gets what it would get alone.
 */
public final class Generator {
  /**
   * How mixed-adapter batches compute their updates unless told otherwise: GATHERED, the faster one
   * measured (two batched matmuls per linear instead of slices, per-run matmuls and a concatenation;
   * BENCHMARKS.md "Policy worker data plane"), within its memory budget.
   */
  public static final RowAdapters.Strategy DEFAULT_STRATEGY = RowAdapters.Strategy.GATHERED;

  private final CausalLm model;
  private final Tokenizer tokenizer;
  private final RowAdapters.Strategy strategy;

  /** {@code tokenizer} decodes texts and checks stop strings; it may be null (texts are then empty). */
  public Generator(CausalLm model, Tokenizer tokenizer) {
    this(model, tokenizer, DEFAULT_STRATEGY);
  }

  public Generator(CausalLm model, Tokenizer tokenizer, RowAdapters.Strategy strategy) {
    this.model = model;
    this.tokenizer = tokenizer;
    this.strategy = strategy;
  }

  public List<Generation> generate(List<String> prompts, String adapter, SamplingParams params) {
    if (tokenizer == null) {
      throw new IllegalStateException("generating from text needs a tokenizer");
    }
    List<long[]> ids = new ArrayList<>();
    for (String p : prompts) {
      ids.add(tokenizer.encode(p));
    }
    return generateIds(ids, adapter == null ? null : model.adapter(adapter), params);
  }

  /**
   * Generates for token-id prompts with the given adapter (null: the base model); prompt i samples
   * from the stream of (params.seed, i).
   */
  public List<Generation> generateIds(List<long[]> prompts, Adapter adapter, SamplingParams params) {
    List<GenerationRow> rows = new ArrayList<>(prompts.size());
    for (int i = 0; i < prompts.size(); i++) {
      rows.add(new GenerationRow(prompts.get(i), adapter, params, i));
    }
    return generateRows(rows);
  }

  /**
   * Generates every row in one batch, each with its own adapter, sampling settings and random
   * stream; the results come back in the order of {@code rows}.
   */
  public List<Generation> generateRows(List<GenerationRow> rows) {
    if (rows.isEmpty()) {
      return List.of();
    }
    // Rows of one adapter side by side, so each adapter's rows are one run of the batch.
    int[] order = groupedByAdapter(rows);
    List<GenerationRow> sorted = new ArrayList<>(rows.size());
    for (int i : order) {
      sorted.add(rows.get(i));
    }
    List<Generation> generated = generateSorted(sorted);
    Generation[] result = new Generation[rows.size()];
    for (int i = 0; i < order.length; i++) {
      result[order[i]] = generated.get(i);
    }
    return Arrays.asList(result);
  }

  /** Indices of {@code rows}, those of each adapter together, adapters in order of first appearance, rows in order. */
  private static int[] groupedByAdapter(List<GenerationRow> rows) {
    Map<Adapter, List<Integer>> groups = new IdentityHashMap<>();
    List<List<Integer>> ordered = new ArrayList<>();
    List<Integer> base = null;
    for (int i = 0; i < rows.size(); i++) {
      Adapter adapter = rows.get(i).adapter();
      List<Integer> group;
      if (adapter == null) {
        if (base == null) {
          base = new ArrayList<>();
          ordered.add(base);
        }
        group = base;
      } else {
        group = groups.get(adapter);
        if (group == null) {
          group = new ArrayList<>();
          groups.put(adapter, group);
          ordered.add(group);
        }
      }
      group.add(i);
    }
    return ordered.stream().flatMap(List::stream).mapToInt(Integer::intValue).toArray();
  }

  private List<Generation> generateSorted(List<GenerationRow> rows) {
    int batch = rows.size();
    int promptLength = 0;
    int maxNew = 0;
    List<long[]> prompts = new ArrayList<>(batch);
    List<SamplingParams> params = new ArrayList<>(batch);
    List<Adapter> adapters = new ArrayList<>(batch);
    int[] streams = new int[batch];
    List<Set<Long>> stopIds = new ArrayList<>(batch);
    for (int b = 0; b < batch; b++) {
      GenerationRow row = rows.get(b);
      if (!row.params().stopStrings().isEmpty() && tokenizer == null) {
        throw new IllegalArgumentException("stop strings need a tokenizer");
      }
      prompts.add(row.prompt());
      params.add(row.params());
      adapters.add(row.adapter());
      streams[b] = row.streamIndex();
      promptLength = Math.max(promptLength, row.prompt().length);
      maxNew = Math.max(maxNew, row.params().maxNewTokens());
      Set<Long> stops = new HashSet<>(row.params().stopTokenIds());
      if (stops.isEmpty()) {
        stops.addAll(model.config().eosTokenIds());
      }
      stopIds.add(stops);
    }
    int capacity = promptLength + maxNew;
    long[][] out = new long[batch][maxNew];
    float[][] logProbs = new float[batch][maxNew];
    int[] lengths = new int[batch];
    Generation.Finish[] finish = new Generation.Finish[batch];
    String[] texts = new String[batch];
    Sampler sampler = new Sampler(params, streams);
    boolean oneAdapter = adapters.stream().allMatch(a -> a == adapters.get(0));
    try (GradMode ignored = GradMode.disabled();
        NDManager request = model.manager().newSubManager();
        KvCache cache = new KvCache(model.config(), batch, capacity, model.dtype(), request);
        RowAdapters perRow = oneAdapter ? RowAdapters.all(adapters.get(0))
            : RowAdapters.of(adapters, strategy, request)) {
      long[] next;
      try (NDManager step = request.newSubManager()) {
        Batch padded = Batch.leftPadded(step, prompts);
        NDArray hidden = model.hiddenPerRow(padded.ids(), padded.mask(), cache, perRow, false);
        next = record(sampler.next(model.logits(hidden.get(new NDIndex(":, -1, :"))), step), 0, out, logProbs);
      }
      int active = batch;
      for (int t = 0; ; t++) {
        for (int b = 0; b < batch; b++) {
          if (finish[b] != null) {
            continue;
          }
          SamplingParams p = params.get(b);
          lengths[b] = t + 1;
          if (stopIds.get(b).contains(out[b][t])) {
            finish[b] = Generation.Finish.STOP_TOKEN;
          } else if (!p.stopStrings().isEmpty() && (texts[b] = stopAt(out[b], t + 1, p)) != null) {
            finish[b] = Generation.Finish.STOP_STRING;
          } else if (t + 1 == p.maxNewTokens()) {
            finish[b] = Generation.Finish.LENGTH;
          }
          if (finish[b] != null) {
            active--;
          }
        }
        if (active == 0) {
          break;
        }
        try (NDManager step = request.newSubManager()) {
          NDArray ids = step.create(next, new Shape(batch, 1));
          NDArray hidden = model.hiddenPerRow(ids, null, cache, perRow, false);
          next = record(sampler.next(model.logits(hidden.squeeze(1)), step), t + 1, out, logProbs);
        }
      }
    }
    List<Generation> result = new ArrayList<>(batch);
    for (int b = 0; b < batch; b++) {
      long[] tokens = Arrays.copyOf(out[b], lengths[b]);
      String text = texts[b] != null ? texts[b] : tokenizer == null ? "" : tokenizer.decode(tokens);
      result.add(new Generation(prompts.get(b), tokens, Arrays.copyOf(logProbs[b], lengths[b]), text, finish[b]));
    }
    return result;
  }

  /** Records step t's picks (rows that already stopped write past their length, which is ignored). */
  private static long[] record(Sampler.Picks picks, int t, long[][] out, float[][] logProbs) {
    long[] ids = picks.ids();
    for (int b = 0; b < ids.length; b++) {
      if (t < out[b].length) {
        out[b][t] = ids[b];
        logProbs[b][t] = picks.logProbs()[b];
      }
    }
    return ids;
  }

  /** The text cut before the first stop string, or null when none has appeared yet. */
  private String stopAt(long[] tokens, int length, SamplingParams params) {
    String text = tokenizer.decode(Arrays.copyOf(tokens, length));
    int cut = -1;
    for (String stop : params.stopStrings()) {
      int at = text.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
      }
    }
    return cut < 0 ? null : text.substring(0, cut);
  }
}

package dev.troupe.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.model.transformer.KvCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Batched generation with a KV cache: prompts are left-padded, prefilled in one pass, then decoded
 * one token per step for the whole batch until every row has stopped.
 */
public final class Generator {
  private final CausalLm model;
  private final Tokenizer tokenizer;

  /** {@code tokenizer} decodes texts and checks stop strings; it may be null (texts are then empty). */
  public Generator(CausalLm model, Tokenizer tokenizer) {
    this.model = model;
    this.tokenizer = tokenizer;
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

  /** Generates for token-id prompts with the given adapter (null: the base model). */
  public List<Generation> generateIds(List<long[]> prompts, Adapter adapter, SamplingParams params) {
    if (prompts.isEmpty()) {
      return List.of();
    }
    if (params.stopStrings().size() > 0 && tokenizer == null) {
      throw new IllegalArgumentException("stop strings need a tokenizer");
    }
    int batch = prompts.size();
    int promptLength = 0;
    for (long[] p : prompts) {
      if (p.length == 0) {
        throw new IllegalArgumentException("an empty prompt cannot be continued (give at least one token, e.g. BOS)");
      }
      promptLength = Math.max(promptLength, p.length);
    }
    int capacity = promptLength + params.maxNewTokens();
    Set<Long> stopIds = new HashSet<>(params.stopTokenIds());
    if (stopIds.isEmpty()) {
      stopIds.addAll(model.config().eosTokenIds());
    }
    long[][] out = new long[batch][params.maxNewTokens()];
    float[][] logProbs = new float[batch][params.maxNewTokens()];
    int[] lengths = new int[batch];
    Generation.Finish[] finish = new Generation.Finish[batch];
    String[] texts = new String[batch];
    Sampler sampler = new Sampler(params);
    try (GradMode ignored = GradMode.disabled();
        NDManager request = model.manager().newSubManager();
        KvCache cache = new KvCache(model.config(), batch, capacity, model.dtype(), request)) {
      long[] next;
      try (NDManager step = request.newSubManager()) {
        Batch padded = Batch.leftPadded(step, prompts);
        NDArray hidden = model.hidden(padded.ids(), padded.mask(), cache, adapter, false);
        next = record(sampler.next(model.logits(hidden.get(new NDIndex(":, -1, :"))), step), 0,
            out, logProbs);
      }
      int active = batch;
      for (int t = 0; ; t++) {
        for (int b = 0; b < batch; b++) {
          if (finish[b] != null) {
            continue;
          }
          lengths[b] = t + 1;
          if (stopIds.contains(out[b][t])) {
            finish[b] = Generation.Finish.STOP_TOKEN;
          } else if (!params.stopStrings().isEmpty() && (texts[b] = stopAt(out[b], t + 1, params)) != null) {
            finish[b] = Generation.Finish.STOP_STRING;
          } else if (t + 1 == params.maxNewTokens()) {
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
          NDArray hidden = model.hidden(ids, null, cache, adapter, false);
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

  private static long[] record(NDList sampled, int t, long[][] out, float[][] logProbs) {
    long[] ids = sampled.get(0).toLongArray();
    float[] lps = sampled.get(1).toFloatArray();
    for (int b = 0; b < ids.length; b++) {
      out[b][t] = ids[b];
      logProbs[b][t] = lps[b];
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

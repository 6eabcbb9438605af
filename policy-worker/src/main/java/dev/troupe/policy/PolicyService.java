package dev.troupe.policy;

import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lora.RowAdapters;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.TokenLogProbs;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * A policy worker's tensor work over one frozen base: samples any loop's adapter at a published
 * version (recorded on every rollout), scores log-probs, swaps in new versions. Generate requests
 * that arrive while a batch is being generated are merged into the next one, each row with its own
 * adapter version (see {@link GenerationBatcher}).
 */
public final class PolicyService implements PolicyBackend, AutoCloseable {
  /** Rows merged into one generation batch at most: bounds its KV cache. */
  public static final int MAX_BATCH_ROWS = RolloutGenerator.CHUNK_ROWS;

  private final CausalLm model;
  private final AdapterRegistry adapters;
  private final GenerationBatcher batcher;

  /**
   * @param tokenizer decodes response texts (judges and raters read them)
   * @param idPrefix prefix of every rollout id, e.g. the campaign's id and a slash: ids are then globally unique
   */
  public PolicyService(CausalLm model, Tokenizer tokenizer, String worker, String idPrefix, int versionsKept) {
    this(model, tokenizer, worker, idPrefix, versionsKept, MAX_BATCH_ROWS, Generator.DEFAULT_STRATEGY);
  }

  /**
   * @param maxBatchRows rows merged into one batch at most
   * @param strategy how a batch of several adapters computes their updates
   */
  public PolicyService(CausalLm model, Tokenizer tokenizer, String worker, String idPrefix, int versionsKept,
      int maxBatchRows, RowAdapters.Strategy strategy) {
    this.model = model;
    this.adapters = new AdapterRegistry(model, versionsKept);
    this.batcher = new GenerationBatcher(model, tokenizer, adapters, worker, idPrefix, maxBatchRows, strategy);
  }

  public AdapterRegistry adapters() {
    return adapters;
  }

  /** Generation batches run so far. */
  public long batchesGenerated() {
    return batcher.batches();
  }

  /** Generate requests served so far (over {@link #batchesGenerated()}: how many shared a batch on average). */
  public long requestsGenerated() {
    return batcher.requests();
  }

  /**
   * Generates on the calling thread, merged with whatever requests wait meanwhile (the calling thread
   * may then go on to generate the batch after, for requests that queued during its own).
   */
  @Override
  public RolloutBatch generate(GenerateRequest request) {
    try {
      return batcher.submit(request, Runnable::run).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException cause) {
        throw cause;
      }
      if (e.getCause() instanceof Error error) {
        throw error;
      }
      throw e;
    }
  }

  /** Queues the request for the next batch, generated on {@code executor} unless a batch is running already. */
  @Override
  public CompletableFuture<RolloutBatch> generateAsync(GenerateRequest request, Executor executor) {
    return batcher.submit(request, executor);
  }

  @Override
  public LogProbsBatch logProbs(LogProbsRequest request) {
    LogProbsBatch.Builder out = LogProbsBatch.newBuilder().setRequestId(request.getRequestId());
    double temperature = request.getTemperature() > 0 ? request.getTemperature() : 1.0;
    try (AdapterRegistry.Lease lease = adapters.acquire(request.getAdapter(), request.getAdapterVersion())) {
      List<Rollout> rows = request.getRolloutsList();
      for (int from = 0; from < rows.size(); from += RolloutGenerator.CHUNK_ROWS) {
        List<Rollout> chunk = rows.subList(from, Math.min(rows.size(), from + RolloutGenerator.CHUNK_ROWS));
        List<float[]> logps = LogProbs.score(model, Rollouts.promptIds(chunk), Rollouts.responseIds(chunk),
            lease.adapter(), temperature);
        for (int i = 0; i < chunk.size(); i++) {
          TokenLogProbs.Builder row = TokenLogProbs.newBuilder().setRolloutId(chunk.get(i).getId());
          for (float lp : logps.get(i)) {
            row.addLogprobs(lp);
          }
          out.addRows(row);
        }
      }
    }
    return out.build();
  }

  @Override
  public void load(AdapterVersion version) {
    adapters.publish(version);
  }

  @Override
  public void close() {
    adapters.close();
  }
}

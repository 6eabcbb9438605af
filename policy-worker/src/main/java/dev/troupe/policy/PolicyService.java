package dev.troupe.policy;

import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lifecycle.UsageGate;
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
 * version (recorded on every rollout), scores log-probs, swaps in new versions. With
 * {@link Batching#MERGE_WAITING}, generate requests that arrive while a batch is being generated are
 * merged into the next one, each row with its own adapter version (see {@link GenerationBatcher}).
 */
public final class PolicyService implements PolicyBackend, AutoCloseable {
  /** Rows merged into one generation batch at most: bounds its KV cache. */
  public static final int MAX_BATCH_ROWS = RolloutGenerator.CHUNK_ROWS;

  /** Whether generate requests share batches. */
  public enum Batching {
    /**
     * Each request is a batch of its own, generated on the caller's thread: concurrent requests run
     * side by side and a seeded campaign repeats bit for bit.
     */
    PER_REQUEST,
    /**
     * Requests that wait while a batch is generated join the next one, whatever their adapters: one
     * forward pass per token for every loop (more throughput). Each request still gets its own
     * tokens, but its log-probs equal those of {@link #PER_REQUEST} only up to float rounding (about
     * 1e-7: rows are padded and multiplied in batches of other sizes), and which requests merge
     * depends on timing, so a run with loops side by side no longer repeats bit for bit.
     */
    MERGE_WAITING;

    /** {@code troupe.policy-worker.batching} of {@code config}: per-request or merge. */
    public static Batching of(com.typesafe.config.Config config) {
      String value = config.getString("troupe.policy-worker.batching");
      return switch (value) {
        case "per-request" -> PER_REQUEST;
        case "merge" -> MERGE_WAITING;
        default -> throw new IllegalArgumentException("troupe.policy-worker.batching must be per-request or merge, got '"
            + value + "'");
      };
    }
  }

  private final CausalLm model;
  private final AdapterRegistry adapters;
  private final RolloutGenerator perRequest;
  private final String idPrefix;
  private final GenerationBatcher batcher; // null: PER_REQUEST

  /**
   * Each request its own batch ({@link Batching#PER_REQUEST}).
   *
   * @param tokenizer decodes response texts (judges and raters read them)
   * @param idPrefix prefix of every rollout id, e.g. the campaign's id and a slash: ids are then globally unique
   */
  public PolicyService(CausalLm model, Tokenizer tokenizer, String worker, String idPrefix, int versionsKept) {
    this(model, tokenizer, worker, idPrefix, versionsKept, Batching.PER_REQUEST);
  }

  public PolicyService(CausalLm model, Tokenizer tokenizer, String worker, String idPrefix, int versionsKept,
      Batching batching) {
    this(model, tokenizer, worker, idPrefix, versionsKept, batching, MAX_BATCH_ROWS, Generator.DEFAULT_STRATEGY);
  }

  /**
   * @param maxBatchRows rows merged into one batch at most
   * @param strategy how a batch of several adapters computes their updates
   */
  public PolicyService(CausalLm model, Tokenizer tokenizer, String worker, String idPrefix, int versionsKept,
      Batching batching, int maxBatchRows, RowAdapters.Strategy strategy) {
    this.model = model;
    this.adapters = new AdapterRegistry(model, versionsKept);
    this.perRequest = new RolloutGenerator(model, tokenizer, worker);
    this.idPrefix = idPrefix;
    this.batcher = batching == Batching.MERGE_WAITING
        ? new GenerationBatcher(model, tokenizer, adapters, worker, idPrefix, maxBatchRows, strategy) : null;
  }

  public AdapterRegistry adapters() {
    return adapters;
  }

  public Batching batching() {
    return batcher == null ? Batching.PER_REQUEST : Batching.MERGE_WAITING;
  }

  /** Merged generation batches run so far (0 with {@link Batching#PER_REQUEST}). */
  public long batchesGenerated() {
    return batcher == null ? 0 : batcher.batches();
  }

  /** Generate requests those batches held: over {@link #batchesGenerated()}, how many shared a batch on average. */
  public long requestsGenerated() {
    return batcher == null ? 0 : batcher.requests();
  }

  /**
   * Generates on the calling thread; merging, with whatever requests wait meanwhile (the calling
   * thread may then go on to generate the batch after, for requests that queued during its own).
   */
  @Override
  public RolloutBatch generate(GenerateRequest request) {
    try (UsageGate.Use use = gate.enter()) {
      return generateInside(request);
    }
  }

  private RolloutBatch generateInside(GenerateRequest request) {
    if (batcher == null) {
      try (AdapterRegistry.Lease lease = adapters.acquire(request.getAdapter(), request.getAdapterVersion())) {
        List<Rollout> rollouts = perRequest.generate(request, lease.adapter(), lease.version(), idPrefix);
        return RolloutBatch.newBuilder().setRequestId(request.getRequestId()).addAllRollouts(rollouts).build();
      }
    }
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

  /**
   * Generates on {@code executor}; merging, the request joins the next batch, generated on
   * {@code executor} unless one is running already.
   */
  @Override
  public CompletableFuture<RolloutBatch> generateAsync(GenerateRequest request, Executor executor) {
    if (batcher == null) {
      return PolicyBackend.super.generateAsync(request, executor);
    }
    UsageGate.Use use = gate.enter(); // held until the merged batch that carries the request is done
    return batcher.submit(request, executor).whenComplete((batch, error) -> use.close());
  }

  @Override
  public LogProbsBatch logProbs(LogProbsRequest request) {
    LogProbsBatch.Builder out = LogProbsBatch.newBuilder().setRequestId(request.getRequestId());
    double temperature = request.getTemperature() > 0 ? request.getTemperature() : 1.0;
    try (UsageGate.Use use = gate.enter();
        AdapterRegistry.Lease lease = adapters.acquire(request.getAdapter(), request.getAdapterVersion())) {
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
    try (UsageGate.Use use = gate.enter()) {
      adapters.publish(version);
    }
  }

  /** Requests being served now (generations, log-probs, loads). */
  public int inFlight() {
    return gate.inside();
  }

  /**
   * Refuses new work, waits for the work under way (a generation a stopping campaign left running) and
   * frees the adapters; the base belongs to the caller, who may free it once this returns.
   */
  @Override
  public void close() {
    if (!gate.closeAndAwait(CLOSE_WAIT)) {
      LOG.warn("policy work still running after {}; its adapters are left to the process's end", CLOSE_WAIT);
      return;
    }
    adapters.close();
  }

  /** How long closing waits for work under way: longer than any one generation of a sane request. */
  private static final java.time.Duration CLOSE_WAIT = java.time.Duration.ofMinutes(2);
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PolicyService.class);
  private final UsageGate gate = new UsageGate("the policy service");
}

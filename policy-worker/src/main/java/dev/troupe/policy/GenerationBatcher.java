package dev.troupe.policy;

import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.model.generate.Generation;
import dev.troupe.model.generate.GenerationRow;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.lora.RowAdapters;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.RolloutBatch;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Merges the generate requests that arrive while a batch is being generated into the next batch, so
 * requests of different loops (each with its own adapter version and sampling settings) share one
 * forward pass per token instead of one batch per adapter. Each request gets exactly the rollouts
 * it would get alone: its rows sample from their own streams, and its rollouts record its adapter
 * version, ids and groups as {@link RolloutGenerator} does.
 *
 * <p>One batch runs at a time. The thread that starts a batch keeps taking the requests that queued
 * meanwhile until none wait: on a policy worker that is the generation loop of its accelerator.
 */
final class GenerationBatcher {
  private static final Logger LOG = LoggerFactory.getLogger(GenerationBatcher.class);

  private final CausalLm model;
  private final AdapterRegistry adapters;
  private final Generator generator;
  private final RolloutGenerator alone;
  private final String worker;
  private final String idPrefix;
  private final int maxRows;
  private final Deque<Pending> queue = new ArrayDeque<>();
  private boolean draining;
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong requests = new AtomicLong();

  private record Pending(GenerateRequest request, int rows, int promptLength, int newTokens,
      CompletableFuture<RolloutBatch> result) {}

  /** @param maxRows rows merged into one batch at most (bounds its KV cache); a larger request runs alone, in chunks */
  GenerationBatcher(CausalLm model, Tokenizer tokenizer, AdapterRegistry adapters, String worker, String idPrefix,
      int maxRows, RowAdapters.Strategy strategy) {
    if (maxRows < 1) {
      throw new IllegalArgumentException("maxRows must be >= 1, got " + maxRows);
    }
    this.model = model;
    this.adapters = adapters;
    this.generator = new Generator(model, tokenizer, strategy);
    this.alone = new RolloutGenerator(model, tokenizer, worker);
    this.worker = worker;
    this.idPrefix = idPrefix;
    this.maxRows = maxRows;
  }

  /** Batches generated so far, and the requests they held: requests / batches is the merge factor. */
  long batches() {
    return batches.get();
  }

  long requests() {
    return requests.get();
  }

  /**
   * Queues the request; when no batch is being generated, {@code executor} runs one (with every
   * request queued by then). The future fails with an IllegalArgumentException naming the problem
   * for a bad request (an unknown adapter, an empty prompt), and with the cause for a failed batch.
   */
  CompletableFuture<RolloutBatch> submit(GenerateRequest request, Executor executor) {
    int perPrompt = Math.max(1, request.getSamplesPerPrompt());
    int longestPrompt = request.getPromptsList().stream().mapToInt(p -> p.getTokenIdsCount()).max().orElse(0);
    Pending pending = new Pending(request, request.getPromptsCount() * perPrompt, longestPrompt,
        Math.max(0, request.getSampling().getMaxNewTokens()), new CompletableFuture<>());
    boolean start;
    synchronized (this) {
      queue.add(pending);
      start = !draining;
      draining = true;
    }
    if (start) {
      try {
        executor.execute(this::drain);
      } catch (RejectedExecutionException e) {
        List<Pending> dropped;
        synchronized (this) {
          draining = false;
          dropped = new ArrayList<>(queue);
          queue.clear();
        }
        dropped.forEach(p -> p.result().completeExceptionally(e));
      }
    }
    return pending.result();
  }

  private void drain() {
    while (true) {
      List<Pending> batch;
      synchronized (this) {
        batch = take();
        if (batch.isEmpty()) {
          draining = false;
          return;
        }
      }
      run(batch);
    }
  }

  /**
   * The longest prefix of the queue that fits one batch: at most {@code maxRows} rows, and a KV cache
   * (the longest prompt of any request + the most new tokens of any) the model's positions hold; a
   * request that fits no batch runs alone.
   */
  private List<Pending> take() {
    List<Pending> batch = new ArrayList<>();
    int rows = 0;
    int promptLength = 0;
    int newTokens = 0;
    while (!queue.isEmpty()) {
      Pending next = queue.peek();
      int prompts = Math.max(promptLength, next.promptLength());
      int tokens = Math.max(newTokens, next.newTokens());
      if (!batch.isEmpty() && (rows + next.rows() > maxRows || prompts + tokens > model.config().maxPositions())) {
        break;
      }
      batch.add(queue.poll());
      rows += next.rows();
      promptLength = prompts;
      newTokens = tokens;
    }
    return batch;
  }

  /** Generates the batch and completes every request's future; never throws. */
  private void run(List<Pending> batch) {
    batches.incrementAndGet();
    requests.addAndGet(batch.size());
    if (batch.size() == 1) {
      Pending p = batch.get(0);
      try (AdapterRegistry.Lease lease = adapters.acquire(p.request().getAdapter(), p.request().getAdapterVersion())) {
        p.result().complete(batchOf(p.request(), alone.generate(p.request(), lease.adapter(), lease.version(), idPrefix)));
      } catch (RuntimeException | Error e) {
        p.result().completeExceptionally(e);
      }
      return;
    }
    List<Pending> admitted = new ArrayList<>();
    List<AdapterRegistry.Lease> leases = new ArrayList<>();
    List<Integer> firstRow = new ArrayList<>();
    List<GenerationRow> rows = new ArrayList<>();
    try {
      for (Pending p : batch) {
        AdapterRegistry.Lease lease = null;
        try {
          lease = adapters.acquire(p.request().getAdapter(), p.request().getAdapterVersion());
          List<GenerationRow> own = RolloutGenerator.rows(p.request(), lease.adapter());
          firstRow.add(rows.size());
          rows.addAll(own);
          admitted.add(p);
          leases.add(lease);
        } catch (RuntimeException e) {
          // A bad request fails alone; the others of the batch go on.
          if (lease != null) {
            lease.close();
          }
          p.result().completeExceptionally(e);
        }
      }
      List<Generation> generated = generator.generateRows(rows);
      LOG.debug("generated {} rows of {} requests in one batch", rows.size(), admitted.size());
      for (int i = 0; i < admitted.size(); i++) {
        Pending p = admitted.get(i);
        int from = firstRow.get(i);
        int to = i + 1 < admitted.size() ? firstRow.get(i + 1) : rows.size();
        p.result().complete(batchOf(p.request(),
            RolloutGenerator.rollouts(p.request(), generated.subList(from, to), leases.get(i).version(), idPrefix, worker)));
      }
    } catch (RuntimeException | Error e) {
      admitted.forEach(p -> p.result().completeExceptionally(e));
    } finally {
      leases.forEach(AdapterRegistry.Lease::close);
    }
  }

  private static RolloutBatch batchOf(GenerateRequest request, List<dev.troupe.protocol.Rollout> rollouts) {
    return RolloutBatch.newBuilder().setRequestId(request.getRequestId()).addAllRollouts(rollouts).build();
  }
}

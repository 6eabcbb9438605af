package dev.troupe.policy;

import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.RolloutBatch;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;

/** The tensor work a {@link PolicyWorker} schedules: sampling, log-probs, adapter versions. Thread-safe. */
public interface PolicyBackend {
  RolloutBatch generate(GenerateRequest request);

  /**
   * The request's rollouts, computed on {@code executor}; a batching backend merges the requests
   * that wait here into one batch. The future fails as {@link #generate} throws.
   */
  default CompletableFuture<RolloutBatch> generateAsync(GenerateRequest request, Executor executor) {
    return CompletableFuture.supplyAsync(() -> generate(request), executor);
  }

  LogProbsBatch logProbs(LogProbsRequest request);

  /** Serves a new version; throws naming the problem (checksum, shape, not newer) and keeps the old ones. */
  void load(AdapterVersion version);
}

package dev.troupe.policy;

import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.RolloutBatch;

/** The tensor work a {@link PolicyWorker} schedules: sampling, log-probs, adapter versions. Thread-safe. */
public interface PolicyBackend {
  RolloutBatch generate(GenerateRequest request);

  LogProbsBatch logProbs(LogProbsRequest request);

  /** Serves a new version; throws naming the problem (checksum, shape, not newer) and keeps the old ones. */
  void load(AdapterVersion version);
}

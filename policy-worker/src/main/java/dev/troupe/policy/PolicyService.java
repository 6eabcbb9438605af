package dev.troupe.policy;

import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.model.generate.LogProbs;
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

/**
 * A policy worker's tensor work over one frozen base: samples any loop's adapter at a published
 * version (recorded on every rollout), scores log-probs, swaps in new versions.
 */
public final class PolicyService implements PolicyBackend, AutoCloseable {
  private final CausalLm model;
  private final RolloutGenerator generator;
  private final AdapterRegistry adapters;
  private final String idPrefix;

  /**
   * @param tokenizer decodes response texts (judges and raters read them)
   * @param idPrefix prefix of every rollout id, e.g. the campaign's id and a slash: ids are then globally unique
   */
  public PolicyService(CausalLm model, Tokenizer tokenizer, String worker, String idPrefix, int versionsKept) {
    this.model = model;
    this.generator = new RolloutGenerator(model, tokenizer, worker);
    this.adapters = new AdapterRegistry(model, versionsKept);
    this.idPrefix = idPrefix;
  }

  public AdapterRegistry adapters() {
    return adapters;
  }

  @Override
  public RolloutBatch generate(GenerateRequest request) {
    try (AdapterRegistry.Lease lease = adapters.acquire(request.getAdapter(), request.getAdapterVersion())) {
      List<Rollout> rollouts = generator.generate(request, lease.adapter(), lease.version(), idPrefix);
      return RolloutBatch.newBuilder().setRequestId(request.getRequestId()).addAllRollouts(rollouts).build();
    }
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

package dev.troupe.algorithms.rollout;

import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.protocol.Rollout;
import java.util.ArrayList;
import java.util.List;

/**
 * Rollouts sampled by an older version of the adapter than the learner's current one stay usable
 * (the behaviour log-probs make the ratio right) up to {@code maxStaleness} versions behind; older
 * ones are dropped, and the drop and the observed lag are reported.
 */
public record Staleness(List<Rollout> kept, int dropped, double meanLag, long maxLag) {

  public static Staleness filter(List<Rollout> rollouts, long currentVersion, int maxStaleness) {
    if (maxStaleness < 0) {
      throw new IllegalArgumentException("maxStaleness must be >= 0, got " + maxStaleness);
    }
    List<Rollout> kept = new ArrayList<>(rollouts.size());
    long lagSum = 0;
    long maxLag = 0;
    for (Rollout r : rollouts) {
      long lag = currentVersion - r.getAdapterVersion();
      if (lag < 0) {
        throw new IllegalArgumentException("rollout " + r.getId() + " claims adapter version " + r.getAdapterVersion()
            + ", newer than the learner's " + currentVersion);
      }
      lagSum += lag;
      maxLag = Math.max(maxLag, lag);
      if (lag <= maxStaleness) {
        kept.add(r);
      }
    }
    double meanLag = rollouts.isEmpty() ? 0 : (double) lagSum / rollouts.size();
    return new Staleness(List.copyOf(kept), rollouts.size() - kept.size(), meanLag, maxLag);
  }

  public Metrics metrics() {
    return new Metrics().put(MetricNames.ROLLOUTS_DROPPED_STALE, dropped)
        .put(MetricNames.ROLLOUTS_VERSION_LAG, meanLag).put(MetricNames.ROLLOUTS_VERSION_LAG_MAX, maxLag);
  }
}

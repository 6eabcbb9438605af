package dev.troupe.reward;

import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.RewardModelVersion;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Reward-model versions received from a learner, served by a {@link RewardService} over this
 * worker's own base. A new version is built (checksums and shapes checked) before it replaces the
 * old one, so a bad version leaves the old one serving; versions only move forward. The version
 * replaced is kept one more version before it is freed, so scoring still running on it ends first.
 */
public final class RewardModelRegistry implements AutoCloseable {
  private final CausalLm base;
  private final RewardService service;
  private final Map<String, Deque<Served>> byName = new HashMap<>();

  private record Served(long version, RewardModelVersions.Loaded loaded) {}

  public RewardModelRegistry(CausalLm base, RewardService service) {
    this.base = base;
    this.service = service;
  }

  /** The newest version served under {@code name}, or -1 when none. */
  public synchronized long newest(String name) {
    Deque<Served> versions = byName.get(name);
    return versions == null || versions.isEmpty() ? -1 : versions.peekLast().version();
  }

  /** Builds the version and serves it under its name; throws naming the problem and keeps the old one otherwise. */
  public void load(RewardModelVersion version) {
    String what = "reward model " + version.getName() + "@" + version.getVersion();
    if (version.getName().isEmpty()) {
      throw new IllegalArgumentException(what + ": a reward model needs a name");
    }
    if (version.getVersion() <= newest(version.getName())) {
      throw new IllegalStateException(what + " is not newer than the version served, " + newest(version.getName()));
    }
    RewardModelVersions.Loaded loaded = RewardModelVersions.load(version, base);
    synchronized (this) {
      Deque<Served> versions = byName.computeIfAbsent(version.getName(), k -> new ArrayDeque<>());
      if (!versions.isEmpty() && versions.peekLast().version() >= version.getVersion()) {
        loaded.close();
        throw new IllegalStateException(what + " is not newer than the version served, " + versions.peekLast().version());
      }
      versions.addLast(new Served(version.getVersion(), loaded));
      service.serve(version.getName(), loaded.model().rewardFunction());
      while (versions.size() > 2) {
        versions.removeFirst().loaded().close();
      }
    }
  }

  @Override
  public synchronized void close() {
    byName.values().forEach(versions -> versions.forEach(s -> s.loaded().close()));
    byName.clear();
  }
}

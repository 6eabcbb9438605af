package dev.troupe.policy;

import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.algorithms.state.TensorCodec;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.AdapterVersion;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Every loop's adapter at its few newest published versions over one frozen base. A new version is
 * swapped in atomically; a request holds a {@link Lease} on the version it samples with, so a version
 * evicted meanwhile is freed only when its last request ends.
 */
public final class AdapterRegistry implements AutoCloseable {
  private final CausalLm model;
  private final int versionsKept;
  private final Map<String, Deque<Served>> byAdapter = new HashMap<>();

  private static final class Served {
    final long version;
    final String digest;
    final Adapter adapter;
    int leases;
    boolean evicted;

    Served(long version, String digest, Adapter adapter) {
      this.version = version;
      this.digest = digest;
      this.adapter = adapter;
    }
  }

  /** An adapter that no version of was published here (a gRPC server answers NOT_FOUND). */
  public static final class UnknownAdapterException extends IllegalArgumentException {
    UnknownAdapterException(String message) {
      super(message);
    }
  }

  /** A version in use by one request; closing it lets an evicted version go. */
  public final class Lease implements AutoCloseable {
    private final String name;
    private final Served served;

    private Lease(String name, Served served) {
      this.name = name;
      this.served = served;
    }

    /** The adapter to sample with; null for the base (the reference policy). */
    public Adapter adapter() {
      return served == null ? null : served.adapter;
    }

    public long version() {
      return served == null ? 0 : served.version;
    }

    public String name() {
      return name;
    }

    @Override
    public void close() {
      if (served != null) {
        release(served);
      }
    }
  }

  /** @param versionsKept versions held per adapter (at least the loops' rollout batches in flight + 1) */
  public AdapterRegistry(CausalLm model, int versionsKept) {
    if (versionsKept < 1) {
      throw new IllegalArgumentException("versionsKept must be >= 1, got " + versionsKept);
    }
    this.model = model;
    this.versionsKept = versionsKept;
  }

  /**
   * Builds the version (checksums and shapes checked: a bad one throws and the versions held stay
   * served) and makes it the adapter's newest. A version not newer than the newest held rewinds the
   * adapter to it: the loop's learner resumed from a checkpoint, so the versions after it belong to a
   * timeline that is gone (requests holding one finish with it).
   */
  public void publish(AdapterVersion version) {
    String digest = TensorCodec.sha256(version.toByteArray());
    synchronized (this) {
      Deque<Served> held = byAdapter.get(version.getAdapter());
      if (held != null && held.stream().anyMatch(s -> s.version == version.getVersion() && s.digest.equals(digest))) {
        return; // the same version again (a load reissued after a timeout): nothing to do, nothing rewound
      }
    }
    Adapter built = AdapterVersions.load(version, model, version.getAdapter() + "@" + version.getVersion());
    synchronized (this) {
      Deque<Served> versions = byAdapter.computeIfAbsent(version.getAdapter(), k -> new ArrayDeque<>());
      while (!versions.isEmpty() && versions.peekLast().version >= version.getVersion()) {
        retire(versions.removeLast());
      }
      versions.addLast(new Served(version.getVersion(), digest, built));
      while (versions.size() > versionsKept) {
        retire(versions.removeFirst());
      }
    }
  }

  private static void retire(Served served) {
    served.evicted = true;
    if (served.leases == 0) {
      served.adapter.close();
    }
  }

  /** The newest version held of {@code adapter}, or -1 when none was published. */
  public synchronized long newest(String adapter) {
    Deque<Served> versions = byAdapter.get(adapter);
    return versions == null || versions.isEmpty() ? -1 : versions.peekLast().version;
  }

  /**
   * A lease on {@code adapter} at {@code version} when held, else at its newest (the rollouts record
   * which); the empty name is the base. Throws naming the adapter when nothing of it was published.
   */
  public synchronized Lease acquire(String adapter, long version) {
    if (adapter.isEmpty()) {
      return new Lease(adapter, null);
    }
    Deque<Served> versions = byAdapter.get(adapter);
    if (versions == null || versions.isEmpty()) {
      throw new UnknownAdapterException("unknown adapter '" + adapter + "': no version of it was published here"
          + " (served: " + byAdapter.keySet() + ")");
    }
    Served chosen = versions.peekLast();
    for (Iterator<Served> it = versions.descendingIterator(); it.hasNext(); ) {
      Served s = it.next();
      if (s.version == version) {
        chosen = s;
      }
    }
    chosen.leases++;
    return new Lease(adapter, chosen);
  }

  private synchronized void release(Served served) {
    served.leases--;
    if (served.leases == 0 && served.evicted) {
      served.adapter.close();
    }
  }

  @Override
  public synchronized void close() {
    for (Deque<Served> versions : byAdapter.values()) {
      for (Served s : versions) {
        s.adapter.close();
      }
    }
    byAdapter.clear();
  }
}

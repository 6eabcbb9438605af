package dev.troupe.algorithms.metrics;

/**
 * Wall-clock seconds of the consecutive phases of one step (generate, score, update ...), reported
 * as metrics under the {@code time/} names of {@link MetricNames}, so a benchmark and a dashboard
 * see where a step's time goes without a profiler.
 *
 * <p>Laps read the host clock. On the CPU every op has finished when it returns; on an asynchronous
 * device (CUDA) a phase's queued work can spill into the next lap unless the phase ends in a host read.
 */
public final class PhaseTimer {
  private final Metrics laps = new Metrics();
  private final long start = System.nanoTime();
  private long lapStart = start;

  /**
   * Ends the phase that began at the previous lap (or at construction) and adds it to {@code name}
   * (a phase that recurs, one lap per micro-batch, sums).
   */
  public PhaseTimer lap(String name) {
    long now = System.nanoTime();
    laps.put(name, (laps.contains(name) ? laps.get(name) : 0) + (now - lapStart) / 1e9);
    lapStart = now;
    return this;
  }

  /** The laps so far plus {@code totalName} = seconds since construction. */
  public Metrics total(String totalName) {
    return laps.copy().put(totalName, (System.nanoTime() - start) / 1e9);
  }
}

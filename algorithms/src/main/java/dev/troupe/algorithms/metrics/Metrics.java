package dev.troupe.algorithms.metrics;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Named training statistics in insertion order, as plain doubles: what a loss or a step reports and
 * the dashboard plots, under the stable names of {@link MetricNames}.
 *
 * <p>Writes ({@link #put}, {@link #merge}) return {@code this} for chaining; equality is by content,
 * so a {@code Metrics} works as a record component. Not thread-safe: stop writing to one once it is
 * handed on (to an actor, a logger), or hand on a {@link #copy()}.
 */
public final class Metrics {
  private final LinkedHashMap<String, Double> values = new LinkedHashMap<>();

  public Metrics() {}

  /** {@code name = value}; a name already present keeps its place and takes the new value. */
  public Metrics put(String name, double value) {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("a metric needs a name, got '" + name + "'");
    }
    values.put(name, value);
    return this;
  }

  /** The value of {@code name}; throws, listing the names present, when there is none. */
  public double get(String name) {
    Double value = values.get(name);
    if (value == null) {
      throw new IllegalArgumentException("no metric '" + name + "'; have " + values.keySet());
    }
    return value;
  }

  public boolean contains(String name) {
    return values.containsKey(name);
  }

  public int size() {
    return values.size();
  }

  /** A read-only view, in insertion order. */
  public Map<String, Double> asMap() {
    return Collections.unmodifiableMap(values);
  }

  /** Puts every metric of {@code other} into this one (other's value wins on a shared name). */
  public Metrics merge(Metrics other) {
    other.values.forEach(this::put);
    return this;
  }

  /** A new {@code Metrics} with {@code prefix} before every name, e.g. {@code "eval_"} as TRL does for evaluation. */
  public Metrics prefixed(String prefix) {
    Metrics out = new Metrics();
    values.forEach((name, value) -> out.put(prefix + name, value));
    return out;
  }

  public Metrics copy() {
    return new Metrics().merge(this);
  }

  /**
   * The mean of each name over the {@code Metrics} that have it, in order of first appearance: how
   * a step reports its minibatches and epochs as one line (TRL's {@code *_avg} statistics).
   */
  public static Metrics mean(List<Metrics> all) {
    Map<String, double[]> sums = new LinkedHashMap<>(); // name -> {sum, count}
    for (Metrics m : all) {
      m.values.forEach((name, value) -> {
        double[] s = sums.computeIfAbsent(name, n -> new double[2]);
        s[0] += value;
        s[1] += 1;
      });
    }
    Metrics out = new Metrics();
    sums.forEach((name, s) -> out.put(name, s[0] / s[1]));
    return out;
  }

  @Override
  public boolean equals(Object o) {
    // Ordered equality: two reports with the same numbers in a different order read differently.
    return o instanceof Metrics other && List.copyOf(values.entrySet()).equals(List.copyOf(other.values.entrySet()));
  }

  @Override
  public int hashCode() {
    return Objects.hash(List.copyOf(values.entrySet()));
  }

  @Override
  public String toString() {
    return values.toString();
  }
}

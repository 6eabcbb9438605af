package dev.troupe.algorithms.data;

import java.util.List;

/**
 * The rows a reader parsed, in file order, and one {@code "<file>:<line>: <problem>"} per row it skipped
 * (always empty under {@link BadRowPolicy#FAIL}).
 */
public record Loaded<T>(List<T> rows, List<String> problems) {
  public Loaded {
    rows = List.copyOf(rows);
    problems = List.copyOf(problems);
  }

  /** How many rows were skipped as bad. */
  public int skipped() {
    return problems.size();
  }
}

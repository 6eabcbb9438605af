package dev.troupe.algorithms.data;

/** What a reader does with a row it cannot use. */
public enum BadRowPolicy {
  /** Stop at the first bad row with a {@link DatasetException} naming its file and line. */
  FAIL,
  /**
   * Leave the row out, log a warning with its file, line and problem (never the row's text), and report it in
   * {@link Loaded#problems()}.
   */
  SKIP
}

package dev.troupe.algorithms.data;

import java.util.Objects;

/**
 * One supervised example: {@code prompt + completion} is the full text; only the completion is learned.
 *
 * @param source where the row came from, {@code "<file name>:<line>"}
 */
public record SftExample(String prompt, String completion, String source) {
  public SftExample {
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(completion, "completion");
    Objects.requireNonNull(source, "source");
  }
}

package dev.troupe.algorithms.data;

import java.util.Objects;

/**
 * One prompt to generate from, ending where the model's reply begins.
 *
 * @param source where the row came from, {@code "<file name>:<line>"}
 */
public record PromptRow(String prompt, String source) {
  public PromptRow {
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(source, "source");
  }
}

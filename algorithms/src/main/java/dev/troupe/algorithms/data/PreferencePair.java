package dev.troupe.algorithms.data;

import java.util.Objects;

/**
 * One preference: the text a model sees ({@code prompt}) and two continuations of it, {@code chosen} preferred
 * over {@code rejected}, so that {@code prompt + chosen} and {@code prompt + rejected} are the two full texts.
 *
 * @param strength how strongly the rater preferred {@code chosen} (a row's {@code strength} or {@code margin}
 *     field; 1.0 when it has neither)
 * @param source where the row came from, {@code "<file name>:<line>"}
 */
public record PreferencePair(String prompt, String chosen, String rejected, double strength, String source) {
  public PreferencePair {
    Objects.requireNonNull(prompt, "prompt");
    Objects.requireNonNull(chosen, "chosen");
    Objects.requireNonNull(rejected, "rejected");
    Objects.requireNonNull(source, "source");
  }
}

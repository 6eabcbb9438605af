package dev.troupe.algorithms.task;

/**
 * A rater's verdict on two responses to one prompt: which is preferred, and how strongly, as the absolute gold
 * score difference in [0, 1] (usable as the margin of Llama 2's reward-model loss, Touvron et al. 2023).
 */
public record Label(String chosen, String rejected, double strength) {

  /** Whether the two responses scored the same: the order was then a coin toss and carries no preference. */
  public boolean tie() {
    return strength == 0;
  }
}

package dev.troupe.algorithms.task;

/** Labels pairs of responses, the only way the gold preference reaches a reward model or a DPO learner. */
public interface Rater {

  /** Which of {@code first} and {@code second}, two responses to {@code prompt}, the rater prefers. */
  Label label(TaskPrompt prompt, String first, String second);
}

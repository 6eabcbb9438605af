/**
 * The quickstart task: a generated instruction family with a hidden gold scorer that stands in for human
 * preference (Gao et al. 2022), so that a whole RLHF run needs no download and reports a true score.
 *
 * <ul>
 *   <li>{@link dev.troupe.algorithms.task.QuickstartTask}: train and held-out prompts, ideal and degraded
 *       responses, an SFT set imperfect on purpose, the byte-level tokenizer;
 *   <li>{@link dev.troupe.algorithms.task.GoldScorer}: the graded rubric per kind, in [0, 1];
 *   <li>{@link dev.troupe.algorithms.task.PerfectRater} and {@link dev.troupe.algorithms.task.NoisyRater}: pair
 *       labels from the gold scorer, exact or with a set fraction flipped.
 * </ul>
 * Learners see the gold scorer only through labels, a reward model or a judge; only evaluation and the run's
 * report call it directly.
 */
package dev.troupe.algorithms.task;

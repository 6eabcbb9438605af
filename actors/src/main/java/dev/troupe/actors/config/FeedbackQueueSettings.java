package dev.troupe.actors.config;

import java.time.Duration;
import java.util.Locale;

/**
 * The raters' task queue: which comparisons come first ({@code selection}), how many raters label
 * each ({@code overlap}), the share of a rater's tasks that are gold items and how many gold items are
 * drawn, how long a lease lasts before an abandoned task returns to the queue, how many open tasks
 * are kept, the guidelines shown beside every task, and how many responses to a prompt a loop on
 * human feedback samples for raters to compare (2: pairwise tasks; more: ranking tasks).
 */
public record FeedbackQueueSettings(Selection selection, int overlap, double goldShare, int goldItems, Duration lease,
    int maxOpen, String guidelines, int responses) {

  /** The most responses one ranking task shows. */
  public static final int MAX_RESPONSES = 8;

  public static final FeedbackQueueSettings DEFAULT = new FeedbackQueueSettings(Selection.DISAGREEMENT, 1, 0.1, 50,
      Duration.ofMinutes(10), 500, "", 2);

  /** Pairwise tasks from loops on human feedback. */
  public FeedbackQueueSettings(Selection selection, int overlap, double goldShare, int goldItems, Duration lease,
      int maxOpen, String guidelines) {
    this(selection, overlap, goldShare, goldItems, lease, maxOpen, guidelines, 2);
  }

  /** How a task's priority is set (higher first). */
  public enum Selection {
    /** The reward model is least sure: its ensemble's spread, or with one head the smallest score difference. */
    UNCERTAINTY,
    /** The AI judge and the reward model disagree most (uncertainty where no judge spoke). */
    DISAGREEMENT,
    /** A seeded shuffle. */
    RANDOM;

    public String configName() {
      return name().toLowerCase(Locale.ROOT);
    }

    public static Selection parse(String name) {
      return valueOf(name.toUpperCase(Locale.ROOT));
    }
  }

  /** Whether a rater's {@code done + 1}-th task should be a gold item. */
  public boolean goldDue(long done) {
    if (goldShare <= 0 || goldItems == 0) {
      return false;
    }
    long every = Math.max(1, Math.round(1 / goldShare));
    return (done + 1) % every == 0;
  }
}

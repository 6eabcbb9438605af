package dev.troupe.actors.config;

import java.util.Locale;

/**
 * Where a loop's preference signal comes from: a reward model's scores, an AI judge's or a human's labels, a
 * dataset's stored pairs, or the quickstart's hidden gold scorer (experiments only).
 */
public enum Feedback {
  REWARD_MODEL, AI_JUDGE, HUMAN, DATASET, GOLD;

  /** The name in a campaign file: "reward-model", "ai-judge", "human", "dataset", "gold". */
  public String configName() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}

package dev.troupe.actors.config;

import java.util.Locale;

/** The update rule a loop's learner runs on its adapter (the same names as {@code troupe train}). */
public enum Algorithm {
  PPO, GRPO, RLOO, DPO, IPO, CDPO;

  /** Whether the learner reads preference pairs (the DPO family) rather than scored rollouts. */
  public boolean pairwise() {
    return this == DPO || this == IPO || this == CDPO;
  }

  /** The name in a campaign file: "ppo", "grpo", ... */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }
}

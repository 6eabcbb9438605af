package dev.troupe.actors.store;

/** The outcome of undoing a label with {@link CampaignStore#deleteLabel}. */
public enum LabelDeletion {
  /** The label was there and is gone. */
  DELETED,
  /** No label has that id (never stored, or already deleted). */
  NOT_FOUND,
  /** A training step consumed it (a ledger row references it): it stays. */
  CONSUMED
}

package dev.troupe.actors.store;

/**
 * A training step tried to consume a label that is not in the store: never stored, or deleted by a
 * rater's undo before the step committed. The step's whole commit was rolled back.
 */
public final class MissingLabelException extends IllegalStateException {
  private final String loop;
  private final String labelId;

  public MissingLabelException(String loop, long step, String labelId) {
    super("loop " + loop + " step " + step + " consumes label " + labelId
        + ", which is not in the store (never stored, or undone by its rater before the step committed):"
        + " the step's ledger rows and checkpoint were not committed");
    this.loop = loop;
    this.labelId = labelId;
  }

  public String loop() {
    return loop;
  }

  public String labelId() {
    return labelId;
  }
}

package dev.troupe.actors.store;

/**
 * A training step tried to consume an item its loop already consumed; the step's whole commit
 * (ledger rows and checkpoint record) was rolled back.
 */
public final class DuplicateConsumptionException extends IllegalStateException {
  private final String loop;
  private final String kind;
  private final String itemId;

  public DuplicateConsumptionException(String loop, long step, String kind, String itemId, long consumedAtStep) {
    super("loop " + loop + " step " + step + " consumes " + kind + " " + itemId
        + (consumedAtStep == step ? " twice" : ", which step " + consumedAtStep + " of the loop already consumed")
        + ": the step's ledger rows and checkpoint were not committed");
    this.loop = loop;
    this.kind = kind;
    this.itemId = itemId;
  }

  public String loop() {
    return loop;
  }

  public String kind() {
    return kind;
  }

  public String itemId() {
    return itemId;
  }
}

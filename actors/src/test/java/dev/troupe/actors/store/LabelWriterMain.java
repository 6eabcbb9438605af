package dev.troupe.actors.store;

import dev.troupe.protocol.Label;

/**
 * A child process for {@code CampaignStoreContract}: stores one label, says so on stdout, and then
 * waits to be killed without closing the store. Arguments: URL, comparison id, label id; user and
 * password come from the environment ({@link PostgresFixture}'s variables).
 */
public final class LabelWriterMain {
  static final String STORED = "STORED ";

  private LabelWriterMain() {}

  public static void main(String[] args) throws InterruptedException {
    CampaignStore store = CampaignStore.open(args[0], System.getenv(PostgresFixture.USER_ENV), System.getenv(PostgresFixture.PASSWORD_ENV));
    Label label = StoreFixtures.chosen(args[2], args[1]).setClientId("client-" + args[2]).build();
    StoredLabel stored = store.putLabel(label);
    System.out.println(STORED + stored.label().getId() + " created=" + stored.created());
    System.out.flush();
    // Bounded, in case the parent dies before killing us.
    Thread.sleep(120_000);
  }
}

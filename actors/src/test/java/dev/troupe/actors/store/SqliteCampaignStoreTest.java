package dev.troupe.actors.store;

import static dev.troupe.actors.store.StoreFixtures.chosen;
import static dev.troupe.actors.store.StoreFixtures.comparison;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on the embedded SQLite file, plus what only SQLite has. */
class SqliteCampaignStoreTest extends CampaignStoreContract {
  @TempDir Path dir;
  private int databases;

  @Override
  String createDatabase() {
    databases++;
    return CampaignStore.defaultUrl(dir.resolve("run-" + databases));
  }

  @Override
  void dropDatabases() {
    // @TempDir removes the files.
  }

  @Override
  String user() {
    return null;
  }

  @Override
  String password() {
    return null;
  }

  @Test
  void defaultUrlCreatesTheRunFolderAndAWalDatabase() throws Exception {
    Path runDir = dir.resolve("runs/nested/quickstart");
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      store.putComparison(comparison("c1"));
    }
    assertTrue(Files.isRegularFile(runDir.resolve("campaign.db")));
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + runDir.resolve("campaign.db"));
        Statement s = c.createStatement();
        ResultSet r = s.executeQuery("PRAGMA journal_mode")) {
      r.next();
      assertEquals("wal", r.getString(1));
    }
  }

  @Test
  void writeWaitsWhileAnotherConnectionHoldsTheWriteLock() throws Exception {
    Path file = dir.resolve("shared/campaign.db");
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(file.getParent()), null, null);
        Connection admin = DriverManager.getConnection("jdbc:sqlite:" + file)) {
      store.putComparison(comparison("c1"));
      admin.setAutoCommit(false);
      try (Statement s = admin.createStatement()) {
        // What an admin command in another process does: take the write lock and hold it a moment.
        s.executeUpdate("UPDATE campaign SET created_ms = created_ms + 1");
      }
      CountDownLatch started = new CountDownLatch(1);
      CompletableFuture<StoredLabel> put = CompletableFuture.supplyAsync(() -> {
        started.countDown();
        return store.putLabel(chosen("l1", "c1").build());
      });
      assertTrue(started.await(60, TimeUnit.SECONDS));
      Thread.sleep(300); // let the label's write meet the lock: without a busy timeout it fails at once
      admin.commit();
      assertTrue(put.get(60, TimeUnit.SECONDS).created());
      assertEquals("l1", store.label("l1").orElseThrow().getId());
    }
  }
}

package dev.troupe.actors.store;

import java.sql.SQLException;
import javax.sql.DataSource;

/** Where the campaign store's connections come from, and the one dialect difference its SQL meets. */
sealed interface StoreDatabase extends AutoCloseable permits SqliteDatabase, PostgresDatabase {

  /** Fresh connections with the store's settings, for Flyway. */
  DataSource dataSource();

  /** Runs {@code work} in one transaction: committed when it returns, rolled back when it throws. */
  <T> T inTransaction(SqlWork<T> work) throws SQLException;

  /** Runs {@code work} with autocommit on: each statement sees the latest committed state. */
  <T> T read(SqlWork<T> work) throws SQLException;

  /** Whether {@code e} is a foreign-key violation (a label the ledger references, a missing label). */
  boolean isForeignKeyViolation(SQLException e);

  @Override
  void close();
}

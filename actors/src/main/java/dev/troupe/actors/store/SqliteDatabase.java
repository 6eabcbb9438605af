package dev.troupe.actors.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The embedded store: one SQLite connection shared under a lock. SQLite writes one transaction at a
 * time anyway; the lock keeps this process's callers from interleaving statements on the connection.
 */
final class SqliteDatabase implements StoreDatabase {
  private static final Logger log = LoggerFactory.getLogger(SqliteDatabase.class);
  /** How long a write waits for another process (an admin command on the same file) to finish. */
  static final int BUSY_TIMEOUT_MS = 30_000;

  private final SQLiteDataSource source;
  private final ReentrantLock lock = new ReentrantLock();
  private Connection connection; // guarded by lock; null once closed

  private SqliteDatabase(SQLiteDataSource source, Connection connection) {
    this.source = source;
    this.connection = connection;
  }

  static SqliteDatabase open(String url) throws SQLException {
    SQLiteConfig config = new SQLiteConfig();
    // WAL lets readers in other processes run beside a writer; FULL syncs the WAL at every commit,
    // so a label acknowledged to a rater survives a power cut, not only a killed process.
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
    config.setBusyTimeout(BUSY_TIMEOUT_MS);
    config.enforceForeignKeys(true);
    // BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that reads and then
    // writes fails at once (SQLITE_BUSY, no waiting) when another process wrote in between.
    config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
    SQLiteDataSource source = new SQLiteDataSource(config);
    source.setUrl(url);
    return new SqliteDatabase(source, source.getConnection());
  }

  @Override
  public DataSource dataSource() {
    return source;
  }

  @Override
  public <T> T inTransaction(SqlWork<T> work) throws SQLException {
    lock.lock();
    try {
      Connection c = openConnection();
      c.setAutoCommit(false);
      try {
        T result = work.run(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        try {
          c.rollback();
        } catch (SQLException rollbackFailure) {
          e.addSuppressed(rollbackFailure);
        }
        throw e;
      } finally {
        restoreAutoCommit(c);
      }
    } finally {
      lock.unlock();
    }
  }

  @Override
  public <T> T read(SqlWork<T> work) throws SQLException {
    lock.lock();
    try {
      return work.run(openConnection());
    } finally {
      lock.unlock();
    }
  }

  @Override
  public boolean isForeignKeyViolation(SQLException e) {
    return e instanceof SQLiteException s && s.getResultCode() == SQLiteErrorCode.SQLITE_CONSTRAINT_FOREIGNKEY;
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (connection != null) {
        connection.close();
        connection = null;
      }
    } catch (SQLException e) {
      throw new IllegalStateException("closing the SQLite campaign store failed: " + e.getMessage(), e);
    } finally {
      lock.unlock();
    }
  }

  private static void restoreAutoCommit(Connection c) {
    try {
      c.setAutoCommit(true);
    } catch (SQLException e) {
      // Thrown here it would hide the transaction's own outcome; the next transaction fails loudly.
      log.warn("SQLite campaign store: switching autocommit back on failed", e);
    }
  }

  private Connection openConnection() {
    if (connection == null) {
      throw new IllegalStateException("the campaign store is closed");
    }
    return connection;
  }
}

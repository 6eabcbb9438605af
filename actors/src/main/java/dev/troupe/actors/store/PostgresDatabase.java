package dev.troupe.actors.store;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.Deque;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The production store: PostgreSQL connections kept in a small pool of idle ones, so that each call
 * borrows one (opening a new one when none is idle) and several loop actors write at once.
 */
final class PostgresDatabase implements StoreDatabase {
  private static final Logger log = LoggerFactory.getLogger(PostgresDatabase.class);
  /** Idle connections kept open; more callers than this at once open extra ones and close them after. */
  static final int MAX_IDLE = 8;
  /** A connection idle longer than this is checked before use: the server may have restarted. */
  private static final long CHECK_AFTER_IDLE_MS = 30_000;
  private static final int CHECK_TIMEOUT_S = 5;
  private static final String FOREIGN_KEY_VIOLATION = "23503";

  private record Idle(Connection connection, long sinceMs) {}

  private final PGSimpleDataSource source;
  private final Deque<Idle> idle = new ArrayDeque<>(); // guarded by this
  private boolean closed; // guarded by this

  private PostgresDatabase(PGSimpleDataSource source) {
    this.source = source;
  }

  /** Checks the URL and opens one connection, so that a wrong address or password fails here. */
  static PostgresDatabase open(String url, String user, String password) throws SQLException {
    PGSimpleDataSource source = new PGSimpleDataSource();
    source.setURL(url); // throws IllegalArgumentException on a URL the driver cannot parse
    if (user != null) {
      source.setUser(user);
    }
    if (password != null) {
      source.setPassword(password);
    }
    source.setApplicationName("troupe");
    PostgresDatabase database = new PostgresDatabase(source);
    database.release(database.borrow(), true);
    return database;
  }

  @Override
  public DataSource dataSource() {
    return source;
  }

  @Override
  public <T> T inTransaction(SqlWork<T> work) throws SQLException {
    Connection c = borrow();
    boolean reusable = false;
    try {
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
        reusable = restoreAutoCommit(c);
      }
    } finally {
      release(c, reusable);
    }
  }

  @Override
  public <T> T read(SqlWork<T> work) throws SQLException {
    Connection c = borrow();
    boolean reusable = false;
    try {
      T result = work.run(c);
      reusable = true;
      return result;
    } catch (SQLException e) {
      reusable = !isConnectionFailure(e);
      throw e;
    } finally {
      release(c, reusable);
    }
  }

  @Override
  public boolean isForeignKeyViolation(SQLException e) {
    return FOREIGN_KEY_VIOLATION.equals(e.getSQLState());
  }

  @Override
  public void close() {
    Deque<Idle> toClose;
    synchronized (this) {
      closed = true;
      toClose = new ArrayDeque<>(idle);
      idle.clear();
    }
    for (Idle i : toClose) {
      closeQuietly(i.connection());
    }
  }

  private Connection borrow() throws SQLException {
    while (true) {
      Idle candidate;
      synchronized (this) {
        if (closed) {
          throw new IllegalStateException("the campaign store is closed");
        }
        candidate = idle.pollFirst();
      }
      if (candidate == null) {
        return source.getConnection();
      }
      boolean stale = System.currentTimeMillis() - candidate.sinceMs() > CHECK_AFTER_IDLE_MS;
      if (!stale || candidate.connection().isValid(CHECK_TIMEOUT_S)) {
        return candidate.connection();
      }
      log.info("dropping a PostgreSQL connection that no longer answers");
      closeQuietly(candidate.connection());
    }
  }

  private void release(Connection c, boolean reusable) {
    if (reusable && isOpen(c)) {
      synchronized (this) {
        if (!closed && idle.size() < MAX_IDLE) {
          idle.addFirst(new Idle(c, System.currentTimeMillis()));
          return;
        }
      }
    }
    closeQuietly(c);
  }

  /** False on a failed or dead connection, which then is not put back in the pool. */
  private static boolean restoreAutoCommit(Connection c) {
    try {
      c.setAutoCommit(true);
      return true;
    } catch (SQLException e) {
      return false;
    }
  }

  private static boolean isOpen(Connection c) {
    try {
      return !c.isClosed();
    } catch (SQLException e) {
      return false;
    }
  }

  /** SQLSTATE class 08 is "connection exception": the connection is of no further use. */
  private static boolean isConnectionFailure(SQLException e) {
    return e.getSQLState() != null && e.getSQLState().startsWith("08");
  }

  private static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException e) {
      log.debug("closing a PostgreSQL connection failed", e);
    }
  }
}

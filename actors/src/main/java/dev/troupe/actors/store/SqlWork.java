package dev.troupe.actors.store;

import java.sql.Connection;
import java.sql.SQLException;

/** One piece of JDBC work on a borrowed connection, run by a {@link StoreDatabase}. */
@FunctionalInterface
interface SqlWork<T> {
  T run(Connection connection) throws SQLException;
}

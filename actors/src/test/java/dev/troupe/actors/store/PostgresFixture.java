package dev.troupe.actors.store;

import static org.junit.jupiter.api.Assertions.fail;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;

/**
 * The PostgreSQL server named by {@code TROUPE_POSTGRES_URL} (user and password from
 * {@code TROUPE_POSTGRES_USER} and {@code TROUPE_POSTGRES_PASSWORD}), handing each test a schema of
 * its own. Unset: the test is skipped with a message, unless {@code TROUPE_REQUIRE_POSTGRES=1}
 * (CI), which makes it fail.
 */
final class PostgresFixture {
  static final String URL_ENV = "TROUPE_POSTGRES_URL";
  static final String USER_ENV = "TROUPE_POSTGRES_USER";
  static final String PASSWORD_ENV = "TROUPE_POSTGRES_PASSWORD";
  static final String REQUIRE_ENV = "TROUPE_REQUIRE_POSTGRES";

  final String url;
  final String user;
  final String password;

  private PostgresFixture(String url, String user, String password) {
    this.url = url;
    this.user = user;
    this.password = password;
  }

  static PostgresFixture require() {
    String url = System.getenv(URL_ENV);
    if (url == null || url.isBlank()) {
      if ("1".equals(System.getenv(REQUIRE_ENV))) {
        fail(REQUIRE_ENV + "=1 but " + URL_ENV + " is not set: the PostgreSQL store tests cannot run");
      }
      Assumptions.abort(URL_ENV + " is not set: skipping the PostgreSQL store tests (.ci/run starts a server and sets it)");
    }
    return new PostgresFixture(url, System.getenv(USER_ENV), System.getenv(PASSWORD_ENV));
  }

  /** Creates a schema of a unique name and returns it. */
  String createSchema() {
    String schema = "troupe_test_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
    execute("CREATE SCHEMA " + schema);
    return schema;
  }

  void dropSchema(String schema) {
    execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  }

  /** The server's URL with {@code schema} as the current schema. */
  String urlOf(String schema) {
    return url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  private void execute(String sql) {
    try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
      s.execute(sql);
    } catch (SQLException e) {
      fail(URL_ENV + "=" + url + " is set but \"" + sql + "\" failed there: " + e.getMessage(), e);
    }
  }
}

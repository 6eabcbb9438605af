package dev.troupe.actors.store;

import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;

/** A campaign store's JDBC URL, checked: which database it names and how to print it safely. */
record StoreUrl(Dialect dialect, String url) {

  /** The databases the store has migrations for. */
  enum Dialect {
    SQLITE("jdbc:sqlite:", "db/migration/sqlite"),
    POSTGRESQL("jdbc:postgresql:", "db/migration/postgresql");

    final String prefix;
    final String migrations;

    Dialect(String prefix, String migrations) {
      this.prefix = prefix;
      this.migrations = migrations;
    }
  }

  private static final Pattern PASSWORD = Pattern.compile("(?i)(password=)[^&;]*");

  static StoreUrl parse(String url) {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("campaign store URL is empty: use jdbc:sqlite:FILE or jdbc:postgresql://HOST:PORT/DATABASE");
    }
    String lower = url.toLowerCase(Locale.ROOT);
    for (Dialect dialect : Dialect.values()) {
      if (lower.startsWith(dialect.prefix)) {
        StoreUrl parsed = new StoreUrl(dialect, url);
        if (dialect == Dialect.SQLITE) {
          parsed.sqliteFile(); // refuses in-memory databases early
        }
        return parsed;
      }
    }
    throw new IllegalArgumentException(
        "campaign store URL " + redact(url) + " names an unsupported database: use jdbc:sqlite:FILE or jdbc:postgresql://HOST:PORT/DATABASE");
  }

  /** The URL with any password parameter masked, for messages and logs. */
  String redacted() {
    return redact(url);
  }

  /** {@code text} (a driver's message, which may quote the URL) with this URL's password masked. */
  String mask(String text) {
    return text == null ? "" : redact(text.replace(url, redacted()));
  }

  /** The database file of a {@code jdbc:sqlite:} URL. */
  Path sqliteFile() {
    String rest = url.substring(Dialect.SQLITE.prefix.length());
    int query = rest.indexOf('?');
    if (query >= 0) {
      rest = rest.substring(0, query);
    }
    if (rest.startsWith("file:")) {
      rest = rest.substring("file:".length());
    }
    if (rest.isEmpty() || rest.equals(":memory:") || rest.contains("mode=memory")) {
      throw new IllegalArgumentException(
          "campaign store URL " + url + " names no file: the store must outlive the process (jdbc:sqlite:runs/NAME/campaign.db)");
    }
    return Path.of(rest);
  }

  private static String redact(String url) {
    return PASSWORD.matcher(url).replaceAll("$1***");
  }

  @Override
  public String toString() {
    return redacted();
  }
}

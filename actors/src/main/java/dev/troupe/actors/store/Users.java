package dev.troupe.actors.store;

import static dev.troupe.actors.store.CampaignStore.rows;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The feedback UI's accounts and login sessions, kept in the campaign store so that an admin can make
 * users before a campaign's first start and while it runs, from another process. Passwords arrive
 * hashed: this class never sees one.
 */
public final class Users {
  /** Letters, digits, '.', '_', '-' and '@': a name that is safe in logs, URLs and exports. */
  private static final Pattern USERNAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@-]{0,63}");

  /** What a user may do: label (rater), also read quality and status (reviewer), everything (admin). */
  public enum Role {
    RATER, REVIEWER, ADMIN;

    public String configName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The role of that name, or an error listing the roles. */
    public static Role parse(String name) {
      for (Role role : values()) {
        if (role.configName().equals(name)) {
          return role;
        }
      }
      throw new IllegalArgumentException("role is \"" + name + "\": expected rater, reviewer or admin");
    }
  }

  public record User(String username, String passwordHash, Role role, boolean disabled, long createdMs) {}

  public record Session(String tokenSha256, String username, String csrfToken, long createdMs, long expiresMs) {}

  private final CampaignStore store;

  Users(CampaignStore store) {
    this.store = store;
  }

  /** Checks a user name, naming the rule it breaks. */
  public static String requireUsername(String username) {
    if (username == null || !USERNAME.matcher(username).matches()) {
      throw new IllegalArgumentException("username \"" + (username == null ? "" : username) + "\" is not valid: 1 to 64 "
          + "letters, digits, '.', '_', '-' or '@', starting with a letter or digit");
    }
    return username;
  }

  /**
   * Makes a user; committed when this returns.
   *
   * @throws IllegalArgumentException when the name is not valid or already taken
   */
  public User create(String username, String passwordHash, Role role) {
    requireUsername(username);
    if (passwordHash == null || passwordHash.isEmpty()) {
      throw new IllegalArgumentException("user " + username + " has no password hash");
    }
    User user = new User(username, passwordHash, role, false, System.currentTimeMillis());
    int inserted = store.write("creating user " + username, c -> CampaignStore.update(c,
        "INSERT INTO users (username, password_hash, role, disabled, created_ms) VALUES (?, ?, ?, ?, ?)"
            + " ON CONFLICT DO NOTHING", username, passwordHash, role.configName(), false, user.createdMs()));
    if (inserted == 0) {
      throw new IllegalArgumentException("username " + username + " is taken");
    }
    return user;
  }

  public Optional<User> find(String username) {
    return store.query("reading user " + username, c -> rows(c,
        "SELECT username, password_hash, role, disabled, created_ms FROM users WHERE username = ?",
        new Object[] {username}, Users::user)).stream().findFirst();
  }

  /** Every user, by name. */
  public List<User> list() {
    return store.query("listing users", c -> rows(c,
        "SELECT username, password_hash, role, disabled, created_ms FROM users ORDER BY username", new Object[0],
        Users::user));
  }

  public long count() {
    return store.query("counting users", c -> rows(c, "SELECT COUNT(*) FROM users", new Object[0], r -> r.getLong(1)))
        .get(0);
  }

  /** Changes a user's role and whether the account is disabled (which also ends its sessions); false when no such user. */
  public boolean change(String username, Role role, boolean disabled) {
    return store.write("updating user " + username, c -> {
      int changed = CampaignStore.update(c, "UPDATE users SET role = ?, disabled = ? WHERE username = ?",
          role.configName(), disabled, username);
      if (disabled) {
        CampaignStore.update(c, "DELETE FROM sessions WHERE username = ?", username);
      }
      return changed == 1;
    });
  }

  /** Replaces a user's password hash and ends the user's sessions; false when no such user. */
  public boolean setPasswordHash(String username, String passwordHash) {
    return store.write("setting the password of " + username, c -> {
      int changed = CampaignStore.update(c, "UPDATE users SET password_hash = ? WHERE username = ?", passwordHash, username);
      CampaignStore.update(c, "DELETE FROM sessions WHERE username = ?", username);
      return changed == 1;
    });
  }

  public void createSession(Session session) {
    store.write("creating a session of " + session.username(), c -> CampaignStore.update(c,
        "INSERT INTO sessions (token_sha256, username, csrf_token, created_ms, expires_ms) VALUES (?, ?, ?, ?, ?)",
        session.tokenSha256(), session.username(), session.csrfToken(), session.createdMs(), session.expiresMs()));
  }

  /** The session of that token hash when it has not expired and its user is enabled. */
  public Optional<Session> session(String tokenSha256, long nowMs) {
    return store.query("reading a session", c -> rows(c,
        "SELECT s.token_sha256, s.username, s.csrf_token, s.created_ms, s.expires_ms FROM sessions s"
            + " JOIN users u ON u.username = s.username WHERE s.token_sha256 = ? AND s.expires_ms > ? AND u.disabled = ?",
        new Object[] {tokenSha256, nowMs, false},
        r -> new Session(r.getString(1), r.getString(2), r.getString(3), r.getLong(4), r.getLong(5))))
        .stream().findFirst();
  }

  public void deleteSession(String tokenSha256) {
    store.write("ending a session", c -> CampaignStore.update(c, "DELETE FROM sessions WHERE token_sha256 = ?", tokenSha256));
  }

  /** Removes expired sessions; returns how many. */
  public int purgeExpiredSessions(long nowMs) {
    return store.write("removing expired sessions", c -> CampaignStore.update(c, "DELETE FROM sessions WHERE expires_ms <= ?", nowMs));
  }

  private static User user(java.sql.ResultSet r) throws java.sql.SQLException {
    return new User(r.getString(1), r.getString(2), Role.parse(r.getString(3)), r.getBoolean(4), r.getLong(5));
  }
}

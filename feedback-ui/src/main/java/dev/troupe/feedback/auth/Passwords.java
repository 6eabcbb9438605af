package dev.troupe.feedback.auth;

import com.password4j.Argon2Function;
import com.password4j.Password;
import com.password4j.types.Argon2;

/**
 * Password hashing with Argon2id (RFC 9106) through password4j, at OWASP's minimum cost (19 MiB,
 * 2 passes, 1 lane); hashes are PHC strings that carry their own salt and parameters.
 */
public final class Passwords {
  private static final Argon2Function ARGON2ID = Argon2Function.getInstance(19_456, 2, 1, 32, Argon2.ID);
  /** Checked against a user that does not exist, so that a wrong name costs as long as a wrong password. */
  private static final String DUMMY_HASH = hash("not a password of anyone");
  /** Shorter passwords are refused when an account is made. */
  public static final int MIN_LENGTH = 10;
  /** Longer ones are refused (Argon2 hashes anything, but a megabyte "password" is an attack). */
  public static final int MAX_LENGTH = 1024;

  private Passwords() {}

  public static String hash(String password) {
    return Password.hash(password).addRandomSalt(16).with(ARGON2ID).getResult();
  }

  /** Whether {@code password} matches {@code hash}; a null hash (no such user) is checked against a dummy and fails. */
  public static boolean matches(String password, String hash) {
    if (hash == null) {
      Password.check(password, DUMMY_HASH).with(ARGON2ID);
      return false;
    }
    try {
      return Password.check(password, hash).with(Argon2Function.getInstanceFromHash(hash));
    } catch (RuntimeException e) {
      return false; // a hash this server did not write
    }
  }

  /** Refuses a password too short or too long for a new account, saying which. */
  public static void requireAcceptable(String password) {
    if (password == null || password.length() < MIN_LENGTH) {
      throw new IllegalArgumentException("password: at least " + MIN_LENGTH + " characters");
    }
    if (password.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("password: at most " + MAX_LENGTH + " characters");
    }
  }
}

package dev.troupe.feedback.auth;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;

/**
 * Failed logins counted per account and per client address over a sliding window: an account that
 * reaches its limit is locked for the lock duration, whatever password comes next (so guessing cannot
 * continue "between" lockouts), and an address that reaches its own limit is refused the same way.
 * In memory: a restart forgets the counts, which a guesser cannot cause.
 */
public final class LoginThrottle {
  /** Failures of one account within the window that lock it. */
  public static final int ACCOUNT_LIMIT = 10;
  /** Failures from one address within the window that lock it (many accounts tried from one place). */
  public static final int ADDRESS_LIMIT = 50;
  public static final Duration WINDOW = Duration.ofMinutes(15);
  public static final Duration LOCK = Duration.ofMinutes(15);

  private final Map<String, Deque<Long>> accountFailures = new HashMap<>();
  private final Map<String, Deque<Long>> addressFailures = new HashMap<>();
  private final Map<String, Long> lockedUntil = new HashMap<>();

  /** Seconds until {@code account} from {@code address} may try again; 0 when it may now. */
  public synchronized long retryAfterSeconds(String account, String address, long nowMs) {
    long until = Math.max(lockedUntil.getOrDefault("account:" + account, 0L), lockedUntil.getOrDefault("address:" + address, 0L));
    return until > nowMs ? Math.max(1, (until - nowMs + 999) / 1000) : 0;
  }

  /** Records a failure; returns true when it locked the account or the address. */
  public synchronized boolean failed(String account, String address, long nowMs) {
    boolean locked = count(accountFailures, account, nowMs) >= ACCOUNT_LIMIT;
    if (locked) {
      lockedUntil.put("account:" + account, nowMs + LOCK.toMillis());
    }
    if (count(addressFailures, address, nowMs) >= ADDRESS_LIMIT) {
      lockedUntil.put("address:" + address, nowMs + LOCK.toMillis());
      locked = true;
    }
    return locked;
  }

  /** A successful login clears the account's failures (not the address's). */
  public synchronized void succeeded(String account) {
    accountFailures.remove(account);
  }

  private static int count(Map<String, Deque<Long>> failures, String key, long nowMs) {
    Deque<Long> times = failures.computeIfAbsent(key, k -> new ArrayDeque<>());
    times.addLast(nowMs);
    while (!times.isEmpty() && times.peekFirst() <= nowMs - WINDOW.toMillis()) {
      times.removeFirst();
    }
    if (failures.size() > 100_000) { // a flood of made-up names must not grow this without bound
      failures.values().removeIf(d -> d.isEmpty() || d.peekLast() <= nowMs - WINDOW.toMillis());
    }
    return times.size();
  }
}

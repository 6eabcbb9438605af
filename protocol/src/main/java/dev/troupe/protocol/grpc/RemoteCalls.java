package dev.troupe.protocol.grpc;

import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a client makes a call: every attempt under the settings' deadline, an idempotent call tried
 * again while the server is UNAVAILABLE (with doubling back-off), and a failure turned into an
 * exception that names the call, the server and the status.
 */
public final class RemoteCalls {
  private static final Logger LOG = LoggerFactory.getLogger(RemoteCalls.class);

  private RemoteCalls() {}

  /** Runs {@code attempt} with a fresh deadline once, or up to {@code settings.attempts()} times when {@code idempotent}. */
  public static <T> T call(String name, ClientSettings settings, boolean idempotent, Function<Deadline, T> attempt) {
    int tries = idempotent ? settings.attempts() : 1;
    long backoffMs = settings.backoff().toMillis();
    for (int i = 1; ; i++) {
      Deadline deadline = Deadline.after(settings.deadline().toNanos(), TimeUnit.NANOSECONDS);
      try {
        return attempt.apply(deadline);
      } catch (StatusRuntimeException e) {
        if (e.getStatus().getCode() == Status.Code.UNAVAILABLE && i < tries) {
          LOG.warn("{} on {} unavailable (try {} of {}): {}; trying again in {} ms", name, settings.target(), i, tries,
              e.getStatus().getDescription(), backoffMs);
          sleep(backoffMs);
          backoffMs *= 2;
          continue;
        }
        throw failure(name, settings, e, i);
      }
    }
  }

  /** The exception a failed call becomes: refused (the request's fault) or failed (anything else). */
  public static RuntimeException failure(String name, ClientSettings settings, StatusRuntimeException e, int tries) {
    Status status = e.getStatus();
    String description = status.getDescription() == null ? "" : ": " + status.getDescription();
    return switch (status.getCode()) {
      case INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION, OUT_OF_RANGE, RESOURCE_EXHAUSTED, ALREADY_EXISTS,
          PERMISSION_DENIED, UNAUTHENTICATED, UNIMPLEMENTED, DATA_LOSS ->
          new RemoteRequestRefusedException(name + " refused by " + settings.target() + ": " + status.getCode()
              + description, status.getCode(), e);
      case DEADLINE_EXCEEDED -> new RemoteCallException(name + " on " + settings.target()
          + " exceeded its deadline of " + settings.deadline().toMillis() + " ms (DEADLINE_EXCEEDED" + description
          + ")", status.getCode(), e);
      default -> new RemoteCallException(name + " on " + settings.target() + " failed after " + tries
          + (tries == 1 ? " try: " : " tries: ") + status.getCode() + description, status.getCode(), e);
    };
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RemoteCallException("interrupted while waiting to try again", Status.Code.CANCELLED, e);
    }
  }
}

package dev.troupe.protocol.grpc;

import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

  /**
   * A client-streaming attempt: sends {@code messages} on the stream {@code start} opens (stopping
   * early when the server already answered, e.g. refused the transfer) and waits for the one reply
   * until the deadline; a failure is thrown as the call's status.
   */
  public static <Q, R> R upload(Function<StreamObserver<R>, StreamObserver<Q>> start, List<Q> messages,
      Deadline deadline) {
    CompletableFuture<R> reply = new CompletableFuture<>();
    StreamObserver<Q> upload = start.apply(new StreamObserver<>() {
      @Override
      public void onNext(R value) {
        reply.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        reply.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {
        reply.complete(null);
      }
    });
    for (Q message : messages) {
      if (reply.isDone()) {
        break;
      }
      upload.onNext(message);
    }
    upload.onCompleted();
    try {
      // The call ends at its deadline; the extra second only lets that status arrive.
      R value = reply.get(Math.max(0, deadline.timeRemaining(TimeUnit.MILLISECONDS)) + 1000, TimeUnit.MILLISECONDS);
      if (value == null) {
        throw Status.INTERNAL.withDescription("the server closed the call without an answer").asRuntimeException();
      }
      return value;
    } catch (ExecutionException e) {
      throw e.getCause() instanceof StatusRuntimeException s ? s : Status.fromThrowable(e.getCause()).asRuntimeException();
    } catch (TimeoutException e) {
      throw Status.DEADLINE_EXCEEDED.withDescription("no answer within the deadline").asRuntimeException();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
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

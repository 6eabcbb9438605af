package dev.troupe.protocol.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a server answers when its work throws: a bad request (IllegalArgumentException) is
 * INVALID_ARGUMENT, a state that refuses the request (IllegalStateException) FAILED_PRECONDITION,
 * anything else INTERNAL; always with the exception's message, so the caller reads what is wrong.
 */
public final class ServerErrors {
  private static final Logger LOG = LoggerFactory.getLogger(ServerErrors.class);

  private ServerErrors() {}

  /** The status for {@code error} (unwrapped from completion wrappers); an unexpected one is logged. */
  public static StatusRuntimeException status(Throwable error) {
    Throwable cause = unwrap(error);
    if (cause instanceof StatusRuntimeException s) {
      return s;
    }
    String message = cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    if (cause instanceof IllegalArgumentException) {
      return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
    if (cause instanceof IllegalStateException || cause instanceof UnsupportedOperationException) {
      return Status.FAILED_PRECONDITION.withDescription(message).asRuntimeException();
    }
    LOG.error("a gRPC call failed", cause);
    return Status.INTERNAL.withDescription(cause.getClass().getSimpleName() + ": " + message).asRuntimeException();
  }

  /** The exception inside CompletableFuture's and executors' wrappers. */
  public static Throwable unwrap(Throwable error) {
    Throwable t = error;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}

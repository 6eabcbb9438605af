package dev.troupe.protocol.grpc;

import io.grpc.Status;

/**
 * A call to a worker that did not succeed for a reason other than the request itself: the worker
 * unavailable (after every try), the deadline exceeded, an internal error. The message names the
 * call, the worker's address and the status.
 */
public final class RemoteCallException extends RuntimeException {
  private final Status.Code code;

  public RemoteCallException(String message, Status.Code code, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public Status.Code code() {
    return code;
  }
}

package dev.troupe.protocol.grpc;

import io.grpc.Status;

/**
 * A worker refused the request itself (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION,
 * RESOURCE_EXHAUSTED, ...): trying again will not help. An IllegalArgumentException, as the same
 * request refused in-process is, so callers treat both alike.
 */
public final class RemoteRequestRefusedException extends IllegalArgumentException {
  private final Status.Code code;

  public RemoteRequestRefusedException(String message, Status.Code code, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public Status.Code code() {
    return code;
  }
}

package dev.troupe.feedback.server;

/** A request refused with an HTTP status and a message for the client (never a stack trace). */
final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  final int status;
  final long retryAfterSeconds;

  ApiException(int status, String message) {
    this(status, message, 0);
  }

  ApiException(int status, String message, long retryAfterSeconds) {
    super(message, null, false, false);
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  static ApiException badRequest(String message) {
    return new ApiException(400, message);
  }

  static ApiException notFound(String message) {
    return new ApiException(404, message);
  }
}

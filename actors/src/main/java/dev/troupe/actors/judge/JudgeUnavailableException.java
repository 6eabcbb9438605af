package dev.troupe.actors.judge;

/**
 * A judge could not answer: an endpoint that stayed unreachable or overloaded through its retries, or refused
 * the request. Names the judge, how many attempts were made, and the last cause.
 */
public final class JudgeUnavailableException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String judgeId;
  private final int attempts;

  public JudgeUnavailableException(String judgeId, int attempts, String problem, Throwable lastCause) {
    super("judge " + judgeId + ": " + problem + " (" + attempts + (attempts == 1 ? " attempt" : " attempts") + ")",
        lastCause);
    this.judgeId = judgeId;
    this.attempts = attempts;
  }

  public String judgeId() {
    return judgeId;
  }

  /** Requests sent for the comparison that failed, the first one included. */
  public int attempts() {
    return attempts;
  }
}

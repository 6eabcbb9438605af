package dev.troupe.algorithms.data;

import java.io.IOException;
import java.nio.file.Path;

/** A dataset row (or the file around it) that cannot be read; the message is {@code "<file>:<line>: <problem>"}. */
public class DatasetException extends IOException {
  private final transient Path file;
  private final long line;
  private final String problem;

  public DatasetException(Path file, long line, String problem) {
    this(file, line, problem, null);
  }

  public DatasetException(Path file, long line, String problem, Throwable cause) {
    super(file + ":" + line + ": " + problem, cause);
    this.file = file;
    this.line = line;
    this.problem = problem;
  }

  public Path file() {
    return file;
  }

  /** 1-based line number in the (decompressed) file. */
  public long line() {
    return line;
  }

  /** The message without its {@code "<file>:<line>: "} prefix. */
  public String problem() {
    return problem;
  }
}

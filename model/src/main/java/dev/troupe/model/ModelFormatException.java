package dev.troupe.model;

import java.io.IOException;
import java.nio.file.Path;

/** A model, adapter, tokenizer or tensor file that cannot be read: the message names the file and what is wrong. */
public final class ModelFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public ModelFormatException(Path file, String problem) {
    super(file + ": " + problem);
  }

  public ModelFormatException(Path file, String problem, Throwable cause) {
    super(file + ": " + problem, cause);
  }
}

package dev.troupe.model;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Real data and tokenizer files from the shared fixtures folder named by {@code TROUPE_FIXTURES}.
 * Unset: the test is skipped with a message. Set but a file is missing: the test fails.
 */
public final class Fixtures {
  public static final String ENV = "TROUPE_FIXTURES";

  private Fixtures() {}

  /** The fixture file at {@code relative} below $TROUPE_FIXTURES (e.g. "models/gpt2-tokenizer/tokenizer.json"). */
  public static Path require(String relative) {
    String root = System.getenv(ENV);
    Assumptions.assumeTrue(
        root != null && !root.isBlank(),
        ENV + " is not set: skipping a test that needs the shared fixture " + relative);
    Path file = Path.of(root).resolve(relative);
    if (!Files.isRegularFile(file)) {
      fail(ENV + "=" + root + " but the fixture " + file + " is missing");
    }
    return file;
  }
}

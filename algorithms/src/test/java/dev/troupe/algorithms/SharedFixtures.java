package dev.troupe.algorithms;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/** Files under $TROUPE_FIXTURES: skipped with a message when unset, a failure when set and missing. */
public final class SharedFixtures {
  private SharedFixtures() {}

  public static Path require(String relative) {
    String root = System.getenv("TROUPE_FIXTURES");
    Assumptions.assumeTrue(root != null && !root.isBlank(),
        "TROUPE_FIXTURES is not set: skipping a test that needs the shared fixture " + relative);
    Path file = Path.of(root).resolve(relative);
    if (!Files.isRegularFile(file)) {
      fail("TROUPE_FIXTURES=" + root + " but the fixture " + file + " is missing");
    }
    return file;
  }
}

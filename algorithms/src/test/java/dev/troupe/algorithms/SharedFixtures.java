package dev.troupe.algorithms;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * Files under $TROUPE_FIXTURES: skipped with a message when unset, a failure when set and missing. A
 * relative folder is taken from the repository root (as in the README's {@code
 * TROUPE_FIXTURES=../shared ./mvnw verify}), not from the module folder Surefire runs in.
 */
public final class SharedFixtures {
  public static final String ENV = "TROUPE_FIXTURES";
  /** Set by the parent pom's Surefire configuration to the reactor's root folder. */
  static final String ROOT_PROPERTY = "troupe.repository.root";

  private SharedFixtures() {}

  public static Path require(String relative) {
    String root = System.getenv(ENV);
    Assumptions.assumeTrue(root != null && !root.isBlank(),
        ENV + " is not set: skipping a test that needs the shared fixture " + relative);
    Path file = folder(root, repositoryRoot()).resolve(relative);
    if (!Files.isRegularFile(file)) {
      fail(ENV + "=" + root + " but the fixture " + file + " is missing");
    }
    return file;
  }

  /** The fixtures folder for the variable's value: an absolute path as it is, a relative one below {@code repositoryRoot}. */
  static Path folder(String value, Path repositoryRoot) {
    Path path = Path.of(value);
    return path.isAbsolute() ? path : repositoryRoot.resolve(path).normalize();
  }

  /**
   * The folder holding the parent pom: from the build when Maven runs the tests, otherwise (an IDE)
   * the nearest folder up from the working directory holding {@code .git}, else the top-most one
   * holding a pom.xml.
   */
  static Path repositoryRoot() {
    String fromBuild = System.getProperty(ROOT_PROPERTY);
    if (fromBuild != null && !fromBuild.isBlank()) {
      return Path.of(fromBuild).toAbsolutePath();
    }
    Path start = Path.of("").toAbsolutePath();
    Path topPom = null;
    for (Path dir = start; dir != null; dir = dir.getParent()) {
      if (Files.exists(dir.resolve(".git"))) {
        return dir;
      }
      if (Files.isRegularFile(dir.resolve("pom.xml"))) {
        topPom = dir;
      }
    }
    return topPom != null ? topPom : start;
  }
}

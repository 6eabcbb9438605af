package dev.troupe.algorithms;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Where {@code TROUPE_FIXTURES} points: relative values are read from the repository root. */
class SharedFixturesTest {

  @Test
  void repositoryRootIsTheFolderWithTheParentPom() throws IOException {
    Path root = SharedFixtures.repositoryRoot();
    String pom = Files.readString(root.resolve("pom.xml"));
    // A module pom names troupe-parent too (as its parent); only the parent lists the modules.
    assertTrue(pom.contains("<artifactId>troupe-parent</artifactId>") && pom.contains("<module>model</module>"),
        root + "/pom.xml is not the parent pom");
    assertTrue(Files.isDirectory(root.resolve("algorithms")), root + " has no algorithms module");
  }

  @Test
  void relativeFolderIsResolvedAgainstTheRepositoryRootAndAbsoluteOneKept() {
    Path root = Path.of("/checkouts/troupe");
    assertEquals(Path.of("/checkouts/shared"), SharedFixtures.folder("../shared", root));
    assertEquals(Path.of("/data/shared"), SharedFixtures.folder("/data/shared", root));
  }
}

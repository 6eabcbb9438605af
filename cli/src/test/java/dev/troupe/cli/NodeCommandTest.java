package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How `troupe node` is told to join: seeds or a bootstrap, one of them, and a clear error otherwise. */
class NodeCommandTest {
  @TempDir Path dir;

  @Test
  void neitherSeedsNorBootstrapIsAnErrorNamingBoth() {
    Object[] r = ModelCommandTest.troupe("node", "--roles", "policy", "--port", "0", "--run-dir", dir.toString());
    assertNotEquals(0, r[0]);
    assertTrue(((String) r[2]).contains("--seeds") && ((String) r[2]).contains("--bootstrap"), (String) r[2]);
  }

  @Test
  void seedsAndBootstrapTogetherAreAnError() {
    Object[] r = ModelCommandTest.troupe("node", "--roles", "policy", "--port", "0", "--seeds", "127.0.0.1:25520",
        "--bootstrap", "config", "--run-dir", dir.toString());
    assertNotEquals(0, r[0]);
    assertTrue(((String) r[2]).contains("give one of them"), (String) r[2]);
  }

  @Test
  void bootstrapWithoutTheKubernetesModuleSaysWhichClassPathItNeeds() {
    // The cli module's class path does not carry the kubernetes module (./troupe does not either).
    Object[] r = ModelCommandTest.troupe("node", "--roles", "policy", "--port", "0", "--bootstrap", "kubernetes-api",
        "--run-dir", dir.toString());
    assertNotEquals(0, r[0]);
    assertTrue(((String) r[2]).contains("troupe-kubernetes"), (String) r[2]);
  }
}

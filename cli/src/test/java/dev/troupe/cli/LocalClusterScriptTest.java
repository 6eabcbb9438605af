package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/local-cluster.sh starts a coordinator, a policy and a reward JVM; Ctrl-C while the campaign
 * runs stops every one of them (no orphan process) and the script exits 130.
 */
class LocalClusterScriptTest {
  @TempDir Path dir;

  @Test
  void ctrlCStopsEveryMemberItStarted() throws Exception {
    Path script = Path.of("..", "deploy", "local-cluster.sh").toAbsolutePath().normalize();
    assertTrue(Files.isExecutable(script), script.toString());
    Path runDir = dir.resolve("run");
    String q = "troupe.campaign.quickstart.";
    List<String> command = new ArrayList<>(List.of("bash", script.toString(), "--policy", "1", "--reward", "1",
        "--run-dir", runDir.toString(), "quickstart"));
    for (String set : List.of(q + "hidden=48", q + "layers=2", q + "sft-examples=2000", q + "sft-steps=150",
        q + "rm-prompts=600", q + "rm-epochs=1", q + "eval-prompts=48", q + "dataset-pairs=200",
        "troupe.campaign.loops.rlhf.steps=100000", "troupe.campaign.loops.rlhf.batch-size=8",
        "troupe.campaign.loops.rlaif.steps=100000", "troupe.campaign.loops.rlaif.batch-size=8",
        "troupe.campaign.loops.dpo.feedback=gold", "troupe.campaign.loops.dpo.steps=100000",
        "troupe.campaign.loops.dpo.batch-size=8", "troupe.campaign.checkpoint.every=5", "troupe.campaign.ui.port=0")) {
      command.add("--set");
      command.add(set);
    }
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("script.log").toFile());
    // The members run from this test's class path: ./troupe would build the project in the middle of its own build.
    // The class path goes in an argument file: Java reports no command line for a process whose line is that long.
    Path classPath = Files.writeString(dir.resolve("classpath.args"), "-cp " + System.getProperty("java.class.path"));
    builder.environment().put("TROUPE_CMD", Path.of(System.getProperty("java.home"), "bin", "java") + " -Xmx1g"
        + " -Dai.djl.offline=true @" + classPath + " dev.troupe.cli.Troupe");
    builder.environment().put("TROUPE_BASE_PORT", String.valueOf(ClusterMembers.freePort()));
    builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Process process = builder.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(8);
      while (!ClusterMembers.checkpointed(runDir, "rlhf", 5)) { // the loops run, on the workers
        assertTrue(process.isAlive(), "the script ended early:\n" + Files.readString(dir.resolve("script.log")));
        assertTrue(System.nanoTime() < deadline, "no checkpoint within 8 minutes:\n"
            + Files.readString(dir.resolve("script.log")));
        Thread.sleep(200);
      }
      List<ProcessHandle> members = members(runDir);
      assertEquals(3, members.size(), "coordinator, policy and reward JVMs: " + members);

      new ProcessBuilder("kill", "-INT", String.valueOf(process.pid())).start().waitFor(10, TimeUnit.SECONDS);
      assertTrue(process.waitFor(90, TimeUnit.SECONDS), "the script did not end after Ctrl-C");
      assertEquals(130, process.exitValue(), Files.readString(dir.resolve("script.log")));
      for (ProcessHandle member : members) {
        member.onExit().get(30, TimeUnit.SECONDS);
        assertTrue(!member.isAlive(), "still running: " + member.info().commandLine().orElse("?"));
      }
      assertEquals(List.of(), members(runDir), "no member outlives the script");
    } finally {
      members(runDir).forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor(30, TimeUnit.SECONDS);
    }
  }

  /** The JVMs running `troupe node` for this run folder (the workers' folders are under it). */
  private static List<ProcessHandle> members(Path runDir) {
    return ProcessHandle.allProcesses().filter(p -> p.info().commandLine().map(c -> c.contains("dev.troupe.cli.Troupe")
        && c.contains(" node ") && c.contains(runDir.toString())).orElse(false)).toList();
  }
}

package dev.troupe.actors.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.protocol.LoopStatus;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A campaign survives being killed and a corrupt checkpoint: it resumes and ends with the configured steps. */
class CampaignResumeTest {
  @TempDir Path dir;

  @Test
  void aCampaignKilledWithSigkillAfterACheckpointResumesToTheConfiguredStepsConsumingNothingTwice() throws Exception {
    int steps = 16;
    Path runDir = dir.resolve("run");
    List<String> sets = TinyCampaign.sets(steps, 2);
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), CampaignChild.class.getName(),
        runDir.toString()));
    command.addAll(sets);
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("child.log").toFile());
    builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    Process child = builder.start();
    try {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      // A step-4 checkpoint on disk means step 2's was committed with its ledger rows (a step commits
      // before the next begins): the kill lands after a committed checkpoint, mid-campaign.
      while (!anyCheckpoint(runDir.resolve("checkpoints"), "step-4")) {
        assertTrue(child.isAlive(), "the child ended before its first checkpoint: " + Files.readString(dir.resolve("child.log")));
        assertTrue(System.nanoTime() < deadline, "no checkpoint within 5 minutes");
        Thread.sleep(20);
      }
      child.destroyForcibly(); // SIGKILL on Linux: no shutdown hook, no flush
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      assertEquals(137, child.exitValue(), "killed by SIGKILL");
    } finally {
      child.destroyForcibly();
    }
    assertFalse(Files.exists(runDir.resolve("summary.json")), "the campaign had finished before the kill");

    TinyCampaign.Recorder events = new TinyCampaign.Recorder();
    Campaign.Result result = Campaign.run(CampaignConfig.load(null, sets), runDir, events);
    assertTrue(result.succeeded(), result.loops().toString());
    int resumed = 0;
    for (LoopStatus loop : result.loops().values()) {
      assertEquals(steps, loop.getStep(), loop.getLoop());
      assertEquals(steps, loop.getAdapterVersion(), loop.getLoop());
      resumed += loop.hasResumedFromStep() && loop.getResumedFromStep() > 0 ? 1 : 0;
    }
    assertTrue(resumed > 0, "no loop resumed from a checkpoint: " + result.loops());
    JsonNode summary = result.summary();
    assertEquals(steps, summary.get("loops").get("rlhf").get("steps").asInt());
    Map<String, Set<String>> ledger = TinyCampaign.ledgerWithoutRepeats(runDir);
    assertEquals(steps * 8, ledger.get("rlhf").size(), "every rollout of every PPO step, once");
    assertEquals(steps * 8, ledger.get("dpo").size(), "every stored pair of every DPO step, once");
    assertTrue(ledger.get("rlaif").size() >= steps, "at least a pair per online-DPO step");
  }

  @Test
  void aCorruptNewestCheckpointIsSkippedWithAWarningNamingTheFileAndThePreviousOneResumes() throws Exception {
    Path runDir = dir.resolve("run");
    CampaignConfig config = TinyCampaign.config(6, 2, "troupe.campaign.loops.rlhf.steps=2",
        "troupe.campaign.loops.rlaif.steps=2");
    assertTrue(Campaign.run(config, runDir, CampaignEvents.NONE).succeeded());
    Path weights = runDir.resolve("checkpoints/dpo/step-6/adapter/adapter_model.safetensors");
    try (FileChannel channel = FileChannel.open(weights, StandardOpenOption.WRITE)) {
      channel.truncate(channel.size() / 2); // a crash or a full disk mid-write would leave this
    }
    TinyCampaign.Recorder events = new TinyCampaign.Recorder();
    Campaign.Result again = Campaign.run(config, runDir, events);
    assertTrue(again.succeeded());
    LoopStatus dpo = again.loops().get("dpo");
    assertEquals(4, dpo.getResumedFromStep(), "the previous checkpoint");
    assertEquals(6, dpo.getStep());
    assertTrue(events.notices.stream().anyMatch(n -> n.contains(weights.toString())), events.notices.toString());
    assertEquals(6 * 8, TinyCampaign.ledgerWithoutRepeats(runDir).get("dpo").size());
    assertTrue(Files.isRegularFile(runDir.resolve("checkpoints/dpo/step-6/manifest.json")), "step 6 written again");
  }

  private static boolean anyCheckpoint(Path root, String step) throws java.io.IOException {
    if (!Files.isDirectory(root)) {
      return false;
    }
    try (Stream<Path> walk = Files.walk(root, 3)) {
      return walk.anyMatch(p -> p.getFileName().toString().equals("manifest.json")
          && p.getParent().getFileName().toString().equals(step));
    }
  }
}

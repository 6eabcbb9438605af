package dev.troupe.actors.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.protocol.CampaignControlReply;
import dev.troupe.protocol.CampaignControlRequest;
import dev.troupe.protocol.CampaignStatus;
import dev.troupe.protocol.LoopState;
import dev.troupe.protocol.LoopStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * CampaignService's requests on a running campaign: a paused loop takes no step until resumed while the
 * others go on; a stopped loop checkpoints its last step and ends, and the next run resumes it there;
 * an unknown loop's name is refused naming the campaign's loops.
 */
class CampaignControlTest {
  @TempDir Path dir;

  private static final int STEPS = 20;
  private static final int DPO_STEPS = 500;

  private static CampaignControlRequest loops(String... names) {
    return CampaignControlRequest.newBuilder().addAllLoops(java.util.List.of(names)).setReason("test").build();
  }

  private static Map<String, LoopStatus> byLoop(CampaignStatus status) {
    return status.getLoopsList().stream().collect(Collectors.toMap(LoopStatus::getLoop, l -> l));
  }

  private static CampaignStatus awaitStatus(CampaignControls control, Predicate<CampaignStatus> until, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    CampaignStatus status = control.status();
    while (!until.test(status)) {
      assertTrue(System.nanoTime() < deadline, "not within 3 minutes: " + what + "; last status " + status);
      assertTrue(status.getLoopsList().stream().noneMatch(l -> l.getState() == LoopState.LOOP_STATE_FAILED),
          "a loop failed: " + status);
      Thread.sleep(50);
      status = control.status();
    }
    return status;
  }

  @Test
  void aPausedLoopWaitsWhileTheOthersRunAStoppedLoopEndsAtACheckpointAndResumesThereNextRun() throws Exception {
    // dpo samples online pairs judged by the gold scorer, so it has steps to spare when it is stopped.
    CampaignConfig config = TinyCampaign.config(STEPS, 50, "troupe.campaign.ui.enabled=false",
        "troupe.campaign.loops.dpo.feedback=gold", "troupe.campaign.loops.dpo.steps=" + DPO_STEPS);
    Path runDir = dir.resolve("run");
    try (Campaign.Running running = Campaign.start(config, runDir, CampaignEvents.NONE)) {
      CampaignControls control = running.control();
      awaitStatus(control, s -> s.getLoopsCount() == 3 && s.getLoopsList().stream().allMatch(l -> l.getStep() >= 1),
          "every loop took a step");

      CampaignControlReply unknown = control.pause(loops("rlhf", "nope"));
      assertFalse(unknown.getOk());
      assertTrue(unknown.getMessage().contains("nope") && unknown.getMessage().contains("rlaif"), unknown.getMessage());

      CampaignControlReply paused = control.pause(loops("rlhf"));
      assertTrue(paused.getOk(), paused.getMessage());
      assertEquals(LoopState.LOOP_STATE_PAUSED, byLoop(paused.getStatus()).get("rlhf").getState());
      // The step under way may finish; then none starts while the other loops go on.
      Thread.sleep(1500);
      long pausedAt = byLoop(control.status()).get("rlhf").getStep();
      long dpoBefore = byLoop(control.status()).get("dpo").getStep();
      awaitStatus(control, s -> byLoop(s).get("dpo").getStep() >= dpoBefore + 3, "dpo goes on");
      assertEquals(pausedAt, byLoop(control.status()).get("rlhf").getStep(), "a paused loop took a step");

      CampaignControlReply stopped = control.stop(loops("dpo"));
      assertTrue(stopped.getOk(), stopped.getMessage());
      assertTrue(byLoop(stopped.getStatus()).get("dpo").getMessage().startsWith("stopping"), stopped.toString());
      CampaignStatus afterStop = awaitStatus(control, s -> byLoop(s).get("dpo").getState() == LoopState.LOOP_STATE_STOPPED,
          "dpo stopped");
      long dpoStoppedAt = byLoop(afterStop).get("dpo").getStep();
      assertTrue(dpoStoppedAt < DPO_STEPS, "dpo ran to its end before the stop took effect");
      assertTrue(Files.exists(runDir.resolve("checkpoints/dpo/step-" + dpoStoppedAt + "/manifest.json")),
          "the stop checkpointed step " + dpoStoppedAt);

      CampaignControlReply resumed = control.resume(loops("rlhf"));
      assertTrue(resumed.getOk(), resumed.getMessage());
      Campaign.Result result = running.await();
      assertEquals(LoopState.LOOP_STATE_DONE, result.loops().get("rlhf").getState());
      assertEquals(STEPS, result.loops().get("rlhf").getStep());
      assertEquals(LoopState.LOOP_STATE_STOPPED, result.loops().get("dpo").getState());
      assertEquals("stopped", result.summary().get("loops").get("dpo").get("state").asText());

      // The next run (two steps more for dpo) resumes the stopped loop at its stop and finishes it.
      long dpoEnd = dpoStoppedAt + 2;
      Campaign.Result again = Campaign.run(TinyCampaign.config(STEPS, 50, "troupe.campaign.ui.enabled=false",
          "troupe.campaign.loops.dpo.feedback=gold", "troupe.campaign.loops.dpo.steps=" + dpoEnd), runDir,
          CampaignEvents.NONE);
      LoopStatus dpo = again.loops().get("dpo");
      assertEquals(dpoStoppedAt, dpo.getResumedFromStep());
      assertEquals(dpoEnd, dpo.getStep());
      assertEquals(LoopState.LOOP_STATE_DONE, dpo.getState());
    }
  }
}

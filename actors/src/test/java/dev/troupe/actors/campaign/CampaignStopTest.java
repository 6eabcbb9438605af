package dev.troupe.actors.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.protocol.LoopStatus;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A campaign stopped while its loops are busy (Ctrl-C, an operator, a benchmark's end) lets the work
 * under way finish before the tensors it uses are freed (freeing them first crashed the JVM in native
 * code), and the next run resumes from the checkpoints.
 */
class CampaignStopTest {
  @TempDir Path dir;

  @Test
  void stoppingACampaignMidStepFreesNothingInUseAndTheNextRunResumes() throws Exception {
    CampaignConfig config = TinyCampaign.config(400, 5, "troupe.campaign.loops.dpo.feedback=gold");
    Path runDir = dir.resolve("run");
    TinyCampaign.Recorder events = new TinyCampaign.Recorder();
    try (Campaign.Running running = Campaign.start(config, runDir, events)) {
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
      while (events.steps.size() < 30) { // every loop mid-pipeline: generations, judging, steps in flight
        assertTrue(System.nanoTime() < deadline, "too few steps: " + events.steps.size());
        Thread.sleep(20);
      }
      running.stop();
    }
    // Still here: the JVM did not crash. The next run picks every loop up from a checkpoint.
    CampaignConfig shorter = TinyCampaign.config(12, 5, "troupe.campaign.loops.dpo.feedback=gold");
    Campaign.Result result = Campaign.run(shorter, runDir, CampaignEvents.NONE);
    int resumed = 0;
    for (LoopStatus loop : result.loops().values()) {
      resumed += loop.hasResumedFromStep() ? 1 : 0;
      assertEquals(Math.max(12, loop.hasResumedFromStep() ? loop.getResumedFromStep() : 0), loop.getStep(),
          loop.toString());
    }
    assertTrue(resumed > 0, "no loop resumed: " + result.loops());
  }
}

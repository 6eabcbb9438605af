package dev.troupe.actors.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.MetricsReport;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Loops running side by side draw only their own randomness, and a checkpoint holds everything a
 * loop needs: one seed gives the same figures twice, and a campaign stopped and resumed goes on
 * exactly as one that never stopped. The loops cover every way a learner is fed: PPO on a reward
 * model of its own learning an AI judge's labels, online DPO on the judge, GRPO on stored pairs.
 */
class CampaignDeterminismTest {
  private static final int STEPS = 6;
  private static final String[] LOOPS = {"troupe.campaign.loops.rlhf.feedback=ai-judge",
      "troupe.campaign.loops.rlhf.max-in-flight=2", "troupe.campaign.loops.dpo.algorithm=grpo",
      "troupe.campaign.loops.dpo.batch-size=4"};
  static Path dir;
  static Path uninterrupted;

  @BeforeAll
  static void runOnce() throws Exception {
    dir = Files.createTempDirectory("troupe-determinism");
    uninterrupted = dir.resolve("uninterrupted");
    assertTrue(Campaign.run(config(STEPS), uninterrupted, CampaignEvents.NONE).succeeded());
  }

  private static CampaignConfig config(int steps) {
    return TinyCampaign.config(steps, 2, LOOPS);
  }

  @Test
  void aCampaignRunTwiceWithOneSeedGivesTheSameFiguresForEveryLoopAndStep() throws Exception {
    Path again = dir.resolve("again");
    Campaign.Result second = Campaign.run(config(STEPS), again, CampaignEvents.NONE);
    for (String loop : List.of("rlhf", "rlaif", "dpo")) {
      assertEquals(summary(uninterrupted, loop), second.summary().get("loops").get(loop).toString(), loop);
      assertEquals(figures(uninterrupted, loop, 0), figures(again, loop, 0), loop);
    }
  }

  @Test
  void aCampaignStoppedAtACheckpointAndResumedTakesTheSameStepsAsOneThatNeverStopped() throws Exception {
    Path resumed = dir.resolve("resumed");
    assertTrue(Campaign.run(config(4), resumed, CampaignEvents.NONE).succeeded());
    Campaign.Result rest = Campaign.run(config(STEPS), resumed, CampaignEvents.NONE);
    for (String loop : List.of("rlhf", "rlaif", "dpo")) {
      assertEquals(4, rest.loops().get(loop).getResumedFromStep(), loop);
      // Steps 5 and 6: restored adapter, optimizer moments, value head and counters, the loop's own reward
      // model rebuilt from the ledger, the same prompts and seeds; every figure the same to the last bit.
      List<Map<String, Double>> expected = figures(uninterrupted, loop, 5);
      assertEquals(2, expected.size(), loop);
      assertEquals(expected, figures(resumed, loop, 5), loop);
    }
  }

  private static String summary(Path runDir, String loop) throws Exception {
    return new com.fasterxml.jackson.databind.ObjectMapper().readTree(runDir.resolve("summary.json").toFile())
        .get("loops").get(loop).toString();
  }

  /** Every step's training metrics from step {@code from} on, wall-clock times and evaluations aside. */
  private static List<Map<String, Double>> figures(Path runDir, String loop, long from) {
    List<Map<String, Double>> out = new ArrayList<>();
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      for (MetricsReport report : store.metrics(loop)) {
        if (report.getStep() < from) {
          continue;
        }
        Map<String, Double> values = new TreeMap<>(report.getValuesMap());
        values.keySet().removeIf(name -> name.startsWith("time/") || name.startsWith("eval/"));
        values.put("step", (double) report.getStep());
        out.add(values);
      }
    }
    return out;
  }
}

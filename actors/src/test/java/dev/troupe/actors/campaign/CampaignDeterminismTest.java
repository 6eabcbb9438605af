package dev.troupe.actors.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.MetricsReport;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Loops running side by side draw only their own randomness: one seed, the same figures twice. */
class CampaignDeterminismTest {
  @TempDir Path dir;

  @Test
  void aCampaignRunTwiceWithOneSeedGivesTheSameFiguresForEveryLoopAndStep() throws Exception {
    CampaignConfig config = TinyCampaign.config(6, 3, "troupe.campaign.loops.rlhf.max-in-flight=2");
    Campaign.Result first = Campaign.run(config, dir.resolve("first"), CampaignEvents.NONE);
    Campaign.Result second = Campaign.run(config, dir.resolve("second"), CampaignEvents.NONE);
    for (String loop : config.loops().keySet()) {
      assertEquals(first.summary().get("loops").get(loop).get("gold_end"),
          second.summary().get("loops").get(loop).get("gold_end"), loop);
      assertEquals(first.summary().get("loops").get(loop).get("kl"), second.summary().get("loops").get(loop).get("kl"),
          loop);
      assertEquals(figures(dir.resolve("first"), loop), figures(dir.resolve("second"), loop), loop);
    }
  }

  /** Every step's metrics but wall-clock times. */
  private static List<Map<String, Double>> figures(Path runDir, String loop) {
    List<Map<String, Double>> out = new ArrayList<>();
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      for (MetricsReport report : store.metrics(loop)) {
        Map<String, Double> values = new TreeMap<>(report.getValuesMap());
        values.keySet().removeIf(name -> name.startsWith("time/"));
        values.put("step", (double) report.getStep());
        out.add(values);
      }
    }
    return out;
  }
}

package dev.troupe.actors.campaign;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.LedgerEntry;
import dev.troupe.protocol.LoopStatus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The shipped quickstart campaign at a seconds-long budget (a 48-wide, 2-layer base SFT'd for 150
 * steps, a reward model on 600 prompts, loops of a few steps): checks the runtime, not alignment.
 */
final class TinyCampaign {
  private TinyCampaign() {}

  static List<String> sets(int steps, int checkpointEvery, String... extra) {
    String q = "troupe.campaign.quickstart.";
    String l = "troupe.campaign.loops.";
    List<String> out = new ArrayList<>(List.of(q + "hidden=48", q + "layers=2", q + "sft-examples=2000",
        q + "sft-steps=150", q + "rm-prompts=600", q + "rm-epochs=1", q + "eval-prompts=48", q + "dataset-pairs=200",
        "troupe.campaign.checkpoint.every=" + checkpointEvery));
    for (String loop : List.of("rlhf", "rlaif", "dpo")) {
      out.add(l + loop + ".steps=" + steps);
      out.add(l + loop + ".batch-size=8");
    }
    out.addAll(List.of(extra));
    return out;
  }

  static CampaignConfig config(int steps, int checkpointEvery, String... extra) {
    return CampaignConfig.load(null, sets(steps, checkpointEvery, extra));
  }

  /** Every loop's ledger ids, checked to be distinct within the loop. */
  static Map<String, Set<String>> ledgerWithoutRepeats(Path runDir) {
    Map<String, Set<String>> byLoop = new ConcurrentHashMap<>();
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      for (LedgerEntry e : store.ledger()) {
        Set<String> ids = byLoop.computeIfAbsent(e.getLoop(), k -> new HashSet<>());
        if (!ids.add(e.getKind() + ":" + e.getItemId())) {
          throw new AssertionError("loop " + e.getLoop() + " consumed " + e.getKind() + " " + e.getItemId() + " twice");
        }
      }
    }
    return byLoop;
  }

  /** Records what a campaign tells its watchers. */
  static final class Recorder implements CampaignEvents {
    final List<LoopStatus> steps = new CopyOnWriteArrayList<>();
    final List<LoopStatus> finished = new CopyOnWriteArrayList<>();
    final List<String> notices = new CopyOnWriteArrayList<>();

    @Override
    public void loopStep(LoopStatus status) {
      steps.add(status);
    }

    @Override
    public void loopFinished(LoopStatus status) {
      finished.add(status);
    }

    @Override
    public void notice(String message) {
      notices.add(message);
    }
  }
}

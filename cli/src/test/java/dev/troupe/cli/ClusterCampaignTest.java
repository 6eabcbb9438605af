package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.LedgerEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quickstart campaign on a loopback cluster of `troupe node` JVMs (coordinator+learner+feedback,
 * policy, reward): the campaign ends with every loop's configured steps and every member exits 0,
 * also when the policy JVM is killed mid-campaign and a fresh one joins on another port, and when the
 * coordinator's JVM is killed and started again with the same command.
 */
class ClusterCampaignTest {
  @TempDir Path dir;

  private static final Duration CAMPAIGN = Duration.ofMinutes(12);

  /** The quickstart at the budget of the one-JVM QuickstartCampaignTest, whose gold gains it must show too. */
  private static final List<String> REDUCED = List.of("troupe.campaign.quickstart.rm-prompts=6000",
      "troupe.campaign.quickstart.rm-epochs=1", "troupe.campaign.quickstart.dataset-pairs=3000",
      "troupe.campaign.loops.rlhf.steps=40", "troupe.campaign.loops.rlaif.steps=60",
      "troupe.campaign.loops.dpo.steps=100", "troupe.campaign.checkpoint.every=4", "troupe.campaign.ui.port=0");

  /** Seconds-long: checks the cluster's mechanics, not alignment. */
  private static List<String> tiny(int steps) {
    String q = "troupe.campaign.quickstart.";
    List<String> sets = new ArrayList<>(List.of(q + "hidden=48", q + "layers=2", q + "sft-examples=2000",
        q + "sft-steps=150", q + "rm-prompts=600", q + "rm-epochs=1", q + "eval-prompts=48", q + "dataset-pairs=200",
        "troupe.campaign.checkpoint.every=2", "troupe.campaign.ui.port=0"));
    for (String loop : List.of("rlhf", "rlaif", "dpo")) {
      sets.add("troupe.campaign.loops." + loop + ".steps=" + steps);
      sets.add("troupe.campaign.loops." + loop + ".batch-size=8");
    }
    return sets;
  }

  private record Ports(int coordinator, int policy, int reward, String seeds) {
    static Ports free() throws Exception {
      int c = ClusterMembers.freePort();
      int p = ClusterMembers.freePort();
      int r = ClusterMembers.freePort();
      return new Ports(c, p, r, "127.0.0.1:" + c + ",127.0.0.1:" + p + ",127.0.0.1:" + r);
    }
  }

  private static List<String> coordinator(Ports ports, Path runDir, List<String> sets) {
    List<String> args = new ArrayList<>(List.of("--roles", "coordinator,learner,feedback", "--port",
        String.valueOf(ports.coordinator()), "--seeds", ports.seeds(), "--campaign", "quickstart", "--run-dir",
        runDir.toString(), "--json"));
    for (String set : sets) {
      args.add("--set");
      args.add(set);
    }
    return args;
  }

  private List<String> worker(String roles, int port, String seeds, String name) {
    return List.of("--roles", roles, "--port", String.valueOf(port), "--seeds", seeds, "--run-dir",
        dir.resolve(name).toString());
  }

  @Test
  void threeJvmsRunTheQuickstartRaiseEveryLoopsGoldAndSurviveAKilledPolicyWorker() throws Exception {
    Ports ports = Ports.free();
    Path runDir = dir.resolve("coordinator");
    try (ClusterMembers members = new ClusterMembers(dir)) {
      members.start("coordinator", coordinator(ports, runDir, REDUCED));
      members.start("policy", worker("policy", ports.policy(), ports.seeds(), "policy"));
      members.start("reward", worker("reward", ports.reward(), ports.seeds(), "reward"));

      // Rollouts have started (rlhf checkpointed its 4th step): the policy JVM dies without leaving.
      members.await("rlhf's checkpoint at step 4", CAMPAIGN, () -> ClusterMembers.checkpointed(runDir, "rlhf", 4));
      members.killHard("policy");
      int replacement = ClusterMembers.freePort();
      members.start("policy-2", worker("policy", replacement, "127.0.0.1:" + ports.coordinator(), "policy-2"));

      // The campaign answers `troupe control status` on the gRPC port its coordinator printed.
      java.util.regex.Matcher grpc = java.util.regex.Pattern.compile("CampaignService .* on gRPC (127\\.0\\.0\\.1:\\d+)")
          .matcher(members.log("coordinator"));
      assertTrue(grpc.find(), members.log("coordinator"));
      Object[] status = ModelCommandTest.troupe("control", "status", "--at", grpc.group(1), "--json");
      assertEquals(0, status[0], (String) status[2]);
      JsonNode live = new ObjectMapper().readTree(((String) status[1]).lines().filter(l -> l.startsWith("{\"ok\""))
          .reduce((a, b) -> b).orElseThrow());
      assertEquals("quickstart", live.get("name").asText(), live.toString());
      assertEquals(Set.of("rlhf", "rlaif", "dpo"), fieldNames(live.get("loops")), live.toString());
      assertTrue(live.get("loops").get("rlhf").get("step").asInt() >= 4, live.toString());

      assertEquals(0, members.awaitExit("coordinator", CAMPAIGN), members.logs());
      assertEquals(0, members.awaitExit("policy-2", Duration.ofMinutes(1)), members.logs());
      assertEquals(0, members.awaitExit("reward", Duration.ofMinutes(1)), members.logs());

      JsonNode summary = members.summary("coordinator");
      assertEquals(new ObjectMapper().readTree(runDir.resolve("summary.json").toFile()), summary);
      Map<String, Integer> steps = Map.of("rlhf", 40, "rlaif", 60, "dpo", 100);
      for (Map.Entry<String, Integer> e : steps.entrySet()) {
        JsonNode loop = summary.get("loops").get(e.getKey());
        assertEquals("done", loop.get("state").asText(), loop.toString());
        assertEquals(e.getValue().intValue(), loop.get("steps").asInt(), loop.toString());
        // The one-JVM run gains +0.048 to +0.066 at this budget; the cluster runs the same computation.
        double gain = loop.get("gold_end").asDouble() - loop.get("gold_start").asDouble();
        assertTrue(gain > 0.02, e.getKey() + ": gold " + loop);
        assertTrue(loop.get("kl").asDouble() < 1, e.getKey() + ": KL " + loop);
      }
      String coordinatorLog = members.log("coordinator");
      assertTrue(coordinatorLog.contains("policy worker") && coordinatorLog.contains("is gone"),
          "the pool noticed the killed policy worker");
      // The cluster's leader (the member with the lowest address, any of the survivors) takes the SBR's decision.
      String survivorLogs = coordinatorLog + members.log("reward") + members.log("policy-2");
      assertTrue(survivorLogs.contains("SBR took decision DownUnreachable"), "the split-brain resolver downed it");
      // The replacement joined with an empty folder: it fetched every file of the campaign before it served.
      java.util.regex.Matcher fetched = java.util.regex.Pattern.compile("\\((\\d+) of (\\d+) files fetched")
          .matcher(members.log("policy-2"));
      assertTrue(fetched.find(), members.log("policy-2"));
      assertEquals(fetched.group(2), fetched.group(1), "files fetched of those the policy role loads");
      assertTrue(Integer.parseInt(fetched.group(1)) >= 3, "the base's config and weights and the tokenizer: "
          + fetched.group());
      Map<String, Set<String>> ledger = ledgerWithoutRepeats(runDir);
      assertEquals(40 * 32, ledger.get("rlhf").size(), "every PPO rollout once");
      assertEquals(100 * 16, ledger.get("dpo").size(), "every stored pair once");
    }
  }

  @Test
  void aKilledCoordinatorStartedAgainResumesEveryLoopFromACheckpointWithTheWorkersThatStayedUp() throws Exception {
    Ports ports = Ports.free();
    Path runDir = dir.resolve("coordinator");
    List<String> command = coordinator(ports, runDir, tiny(10));
    try (ClusterMembers members = new ClusterMembers(dir)) {
      members.start("coordinator", command);
      members.start("policy", worker("policy", ports.policy(), ports.seeds(), "policy"));
      members.start("reward", worker("reward", ports.reward(), ports.seeds(), "reward"));
      members.await("a checkpoint of every loop at step 4", CAMPAIGN, () -> List.of("rlhf", "rlaif", "dpo").stream()
          .allMatch(loop -> ClusterMembers.checkpointed(runDir, loop, 4)));
      members.killHard("coordinator");
      String policyLog = members.log("policy");

      members.start("coordinator-again", command);
      assertEquals(0, members.awaitExit("coordinator-again", CAMPAIGN), members.logs());
      assertEquals(0, members.awaitExit("policy", Duration.ofMinutes(1)), members.logs());
      assertEquals(0, members.awaitExit("reward", Duration.ofMinutes(1)), members.logs());

      JsonNode summary = members.summary("coordinator-again");
      for (String loop : List.of("rlhf", "rlaif", "dpo")) {
        JsonNode l = summary.get("loops").get(loop);
        assertEquals("done", l.get("state").asText(), l.toString());
        assertEquals(10, l.get("steps").asInt(), l.toString());
        assertTrue(l.get("resumed_from_step").asInt() >= 2, "resumed from a checkpoint: " + l);
      }
      // The policy worker that stayed up served the restarted coordinator without loading the campaign again.
      assertEquals(1, count(members.log("policy"), "serving campaign"), members.log("policy"));
      assertTrue(policyLog.contains("serving campaign"), policyLog);
      ledgerWithoutRepeats(runDir);
      assertTrue(Files.isRegularFile(runDir.resolve("adapters/rlhf/adapter_model.safetensors")));
    }
  }

  private static Set<String> fieldNames(JsonNode node) {
    Set<String> out = new HashSet<>();
    node.fieldNames().forEachRemaining(out::add);
    return out;
  }

  private static int count(String text, String what) {
    int n = 0;
    for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
      n++;
    }
    return n;
  }

  /** Every loop's consumed ids, each checked to appear once in its loop. */
  static Map<String, Set<String>> ledgerWithoutRepeats(Path runDir) {
    Map<String, Set<String>> byLoop = new HashMap<>();
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      for (LedgerEntry e : store.ledger()) {
        if (!byLoop.computeIfAbsent(e.getLoop(), k -> new HashSet<>()).add(e.getKind() + ":" + e.getItemId())) {
          throw new AssertionError("loop " + e.getLoop() + " consumed " + e.getKind() + " " + e.getItemId() + " twice");
        }
      }
    }
    return byLoop;
  }
}

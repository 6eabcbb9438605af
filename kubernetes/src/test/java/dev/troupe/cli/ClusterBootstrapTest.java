package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code troupe node --bootstrap METHOD}: three members given no seeds find each other through Pekko
 * Management's cluster bootstrap and run a campaign to its end. On loopback the discovery method is
 * {@code config} (a list of the members' management endpoints); on Kubernetes it is {@code kubernetes-api},
 * the same bootstrap with the pods the API lists.
 */
class ClusterBootstrapTest {
  @TempDir Path dir;

  @Test
  void membersWithoutSeedsFindEachOtherAndRunTheCampaign() throws Exception {
    int[] cluster = {ClusterMembers.freePort(), ClusterMembers.freePort(), ClusterMembers.freePort()};
    int[] management = {ClusterMembers.freePort(), ClusterMembers.freePort(), ClusterMembers.freePort()};
    Path discovery = Files.writeString(dir.resolve("discovery.conf"), String.format("""
        pekko.discovery.config.services.troupe.endpoints = [
          { host = "127.0.0.1", port = %d }, { host = "127.0.0.1", port = %d }, { host = "127.0.0.1", port = %d } ]
        pekko.management.cluster.bootstrap.contact-point-discovery {
          required-contact-point-nr = 3
          stable-margin = 1s
        }
        """, management[0], management[1], management[2]));
    List<String> jvm = List.of("-Dconfig.file=" + discovery);
    Path runDir = dir.resolve("coordinator");
    List<String> coordinator = new ArrayList<>(List.of("--roles", "coordinator,learner,feedback", "--port",
        String.valueOf(cluster[0]), "--bootstrap", "config", "--management-port", String.valueOf(management[0]),
        "--campaign", "quickstart", "--run-dir", runDir.toString(), "--json"));
    String q = "troupe.campaign.quickstart.";
    for (String set : List.of(q + "hidden=48", q + "layers=2", q + "sft-examples=2000", q + "sft-steps=150",
        q + "rm-prompts=600", q + "rm-epochs=1", q + "eval-prompts=48", q + "dataset-pairs=200",
        "troupe.campaign.loops.rlhf.steps=4", "troupe.campaign.loops.rlhf.batch-size=8",
        "troupe.campaign.loops.rlaif.steps=4", "troupe.campaign.loops.rlaif.batch-size=8",
        "troupe.campaign.loops.dpo.steps=4", "troupe.campaign.loops.dpo.batch-size=8", "troupe.campaign.ui.port=0")) {
      coordinator.add("--set");
      coordinator.add(set);
    }
    try (ClusterMembers members = new ClusterMembers(dir)) {
      members.start("coordinator", jvm, coordinator);
      members.start("policy", jvm, List.of("--roles", "policy", "--port", String.valueOf(cluster[1]), "--bootstrap",
          "config", "--management-port", String.valueOf(management[1]), "--run-dir", dir.resolve("policy").toString()));
      members.start("reward", jvm, List.of("--roles", "reward", "--port", String.valueOf(cluster[2]), "--bootstrap",
          "config", "--management-port", String.valueOf(management[2]), "--run-dir", dir.resolve("reward").toString()));

      assertEquals(0, members.awaitExit("coordinator", Duration.ofMinutes(10)), members.logs());
      assertEquals(0, members.awaitExit("policy", Duration.ofMinutes(1)), members.logs());
      assertEquals(0, members.awaitExit("reward", Duration.ofMinutes(1)), members.logs());
      JsonNode summary = members.summary("coordinator");
      for (String loop : List.of("rlhf", "rlaif", "dpo")) {
        JsonNode l = summary.get("loops").get(loop);
        assertEquals("done", l.get("state").asText(), l.toString());
        assertEquals(4, l.get("steps").asInt(), l.toString());
      }
      // The bootstrap formed the cluster: one member (the lowest address) initiated it and the others joined it.
      StringBuilder all = new StringBuilder();
      for (String member : List.of("coordinator", "policy", "reward")) {
        all.append(Files.readString(dir.resolve(member + "-info.log"))); // INFO and up (the console keeps warnings)
      }
      assertTrue(all.toString().contains("Initiating new cluster"), "no member formed the cluster:\n" + members.logs());
      assertTrue(members.log("policy").contains("serving campaign"), members.log("policy"));
    }
  }
}

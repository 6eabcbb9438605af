package dev.troupe.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.troupe.actors.campaign.Campaign;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.Users.Role;
import dev.troupe.feedback.auth.Passwords;
import dev.troupe.protocol.LedgerEntry;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * The live loop: in a running quickstart campaign (tiny sizes), a rater labels the comparisons the AI
 * judge's loop sampled, through the UI the campaign serves, and a DPO loop on human feedback, which
 * waits for labels, consumes exactly those labels in its next steps (the ledger names them).
 */
class LiveCampaignLabelTest {
  private static final long SETUP_WAIT_S = 600;
  private static final long WAIT_S = 300;
  @TempDir Path dir;

  @Test
  void labelsPostedThroughTheApiAreConsumedByTheHumanDpoLoopsNextSteps() throws Exception {
    Path runDir = dir.resolve("live");
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      store.users().create("ana", Passwords.hash(UiFixture.PASSWORD), Role.RATER); // before the first start
      store.users().create("boss", Passwords.hash(UiFixture.PASSWORD), Role.ADMIN);
    }
    Path file = dir.resolve("live.conf");
    Files.writeString(file, """
        troupe.campaign {
          name = live
          quickstart { hidden = 48, layers = 2, sft-examples = 2000, sft-steps = 150, rm-prompts = 600, rm-epochs = 1,
                       eval-prompts = 48, dataset-pairs = 200 }
          loops {
            # online DPO on a simulated judge: its judged comparisons fill the raters' queue
            rlaif { algorithm = dpo, feedback = ai-judge, steps = 3, batch-size = 8, max-staleness = 50 }
            # DPO on raters' labels: waits for them
            human { algorithm = dpo, feedback = human, steps = 4, batch-size = 2 }
          }
          checkpoint.every = 1
          ui { port = 0 }
          feedback-queue { gold-share = 0.0 }
        }
        """);
    CampaignConfig config = CampaignConfig.load(file, List.of());
    UiUrl events = new UiUrl();
    CompletableFuture<String> url = events.url;
    List<String> labelIds = new ArrayList<>();
    try (Campaign.Running running = Campaign.start(config, runDir, events)) {
      UiFixture.Client ana = UiFixture.remote(URI.create(url.get(60, TimeUnit.SECONDS))).login("ana");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SETUP_WAIT_S);
      while (labelIds.size() < 4) {
        JsonNode task = ana.nextTask(); // 204 until the setup is done and the judge's loop has sampled
        if (task == null) {
          assertTrue(System.nanoTime() < deadline, "no task reached the queue within " + SETUP_WAIT_S + " s");
          Thread.sleep(1000);
          continue;
        }
        assertEquals("pairwise", task.get("kind").asText());
        assertEquals(2, task.get("responses").size());
        var receipt = ana.label(task, "live-" + labelIds.size());
        assertEquals(200, receipt.statusCode(), receipt.body());
        labelIds.add(UiFixture.JSON.readTree(receipt.body()).get("label_id").asText());
      }
      // The loop takes the labels as they come (a step may hold one or two): wait until all four are in the ledger.
      long consumedBy = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_S);
      while (!consumedAll(runDir, labelIds)) {
        assertTrue(System.nanoTime() < consumedBy, "the labels were not all consumed within " + WAIT_S + " s");
        Thread.sleep(500);
      }
      // The admin view shows each label's way to training: which loop and step, and how long after the submit.
      UiFixture.Client boss = UiFixture.remote(URI.create(url.get())).login("boss");
      JsonNode rows = UiFixture.JSON.readTree(boss.get("/api/admin/labels").body()).get("labels");
      Map<String, JsonNode> byId = new TreeMap<>();
      rows.forEach(r -> byId.put(r.get("label_id").asText(), r));
      for (String id : labelIds) {
        JsonNode consumed = byId.get(id).get("consumed_by").get(0);
        assertEquals("human", consumed.get("loop").asText(), byId.get(id).toString());
        assertTrue(consumed.get("seconds_after_submit").asDouble() >= 0, byId.get(id).toString());
      }
    }
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      Map<String, Long> stepOf = new TreeMap<>();
      for (LedgerEntry e : store.ledger("human")) {
        assertEquals(CampaignStore.LedgerItem.LABEL, e.getKind());
        stepOf.put(e.getItemId(), e.getStep());
      }
      assertEquals(new java.util.TreeSet<>(labelIds), stepOf.keySet(), "the human loop consumed exactly the posted labels");
      List<LedgerEntry> ledger = store.ledger("human");
      for (String id : labelIds) {
        long created = store.label(id).orElseThrow().getCreatedMs();
        // Steps of the loop committed before the label was: the step in flight then (it may have fetched its
        // pairs just before) and the next one are the "one update cycle" within which the label must be used.
        long stepsBefore = ledger.stream().filter(e -> e.getConsumedMs() < created).map(LedgerEntry::getStep).distinct().count();
        long step = stepOf.get(id);
        assertTrue(step >= stepsBefore + 1 && step <= stepsBefore + 2, "label " + id + " committed after " + stepsBefore
            + " step(s) was consumed at step " + step);
        assertTrue(store.consumption(id).orElseThrow().getConsumedMs() >= created, "consumed after it was committed");
      }
    }
  }

  /** Two responses per prompt give pairwise tasks; three give ranking tasks, whose best response the loop learns over the others. */
  @ParameterizedTest
  @ValueSource(ints = {2, 3})
  void aLoopOnRatersAloneSamplesItsCurrentVersionsForThemAndLearnsFromTheirLabels(int responses) throws Exception {
    Path runDir = dir.resolve("raters-only");
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      store.users().create("ana", Passwords.hash(UiFixture.PASSWORD), Role.RATER);
    }
    Path file = dir.resolve("raters-only.conf");
    Files.writeString(file, """
        troupe.campaign {
          name = raters-only
          quickstart { hidden = 48, layers = 2, sft-examples = 2000, sft-steps = 150, rm-prompts = 600, rm-epochs = 1,
                       eval-prompts = 48, dataset-pairs = 200 }
          # the only loop: DPO on raters' labels; nothing else samples comparisons for the queue
          loops { human { algorithm = dpo, feedback = human, steps = 3, batch-size = 2, max-staleness = 1 } }
          checkpoint.every = 1
          ui { port = 0 }
          feedback-queue { gold-share = 0.0 }
        }
        """);
    CampaignConfig config = CampaignConfig.load(file, List.of("troupe.campaign.feedback-queue.responses=" + responses));
    UiUrl events = new UiUrl();
    CompletableFuture<String> url = events.url;
    Map<String, String> taskOfLabel = new TreeMap<>();
    try (Campaign.Running running = Campaign.start(config, runDir, events)) {
      UiFixture.Client ana = UiFixture.remote(URI.create(url.get(60, TimeUnit.SECONDS))).login("ana");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(SETUP_WAIT_S + WAIT_S);
      // The rater labels whatever the queue offers until the loop has taken its three steps.
      while (stepsTaken(runDir, "human") < 3) {
        assertTrue(System.nanoTime() < deadline, "the loop took " + stepsTaken(runDir, "human") + " of 3 steps within "
            + (SETUP_WAIT_S + WAIT_S) + " s; labels posted: " + taskOfLabel.size());
        JsonNode task = ana.nextTask();
        if (task == null) {
          Thread.sleep(500);
          continue;
        }
        assertEquals(responses == 2 ? "pairwise" : "ranking", task.get("kind").asText(), task.toString());
        assertEquals(responses, task.get("responses").size(), task.toString());
        var receipt = responses == 2 ? ana.label(task, "only-" + taskOfLabel.size()) : ana.rank(task, "only-" + taskOfLabel.size());
        assertEquals(200, receipt.statusCode(), receipt.body());
        taskOfLabel.put(UiFixture.JSON.readTree(receipt.body()).get("label_id").asText(), task.get("id").asText());
      }
    }
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      java.util.Set<Long> versionsLearned = new java.util.TreeSet<>();
      for (LedgerEntry e : store.ledger("human")) {
        String taskId = taskOfLabel.get(e.getItemId());
        assertNotNull(taskId, "the loop consumed label " + e.getItemId() + ", which the rater did not post");
        String comparisonId = store.tasks().task(taskId).orElseThrow().comparisonId();
        var comparison = store.comparison(comparisonId).orElseThrow();
        long version = comparison.getResponses(0).getAdapterVersion();
        assertEquals(responses, comparison.getResponsesCount(), comparisonId);
        for (var response : comparison.getResponsesList()) {
          assertEquals(version, response.getAdapterVersion(), comparisonId);
        }
        assertTrue(comparisonId.startsWith("human/raters-v" + version + "/"), comparisonId + " of version " + version);
        // Version v exists once step v is done: a step learns from versions published before it.
        assertTrue(version <= e.getStep() - 1, "step " + e.getStep() + " learned from version " + version);
        versionsLearned.add(version);
      }
      assertEquals(java.util.Set.of(1L, 2L, 3L), new java.util.TreeSet<>(store.ledger("human").stream()
          .map(LedgerEntry::getStep).toList()));
      assertTrue(versionsLearned.contains(0L) && versionsLearned.stream().anyMatch(v -> v >= 1),
          "the raters compared the start and a version the loop published later: " + versionsLearned);
    }
  }

  private static long stepsTaken(Path runDir, String loop) {
    if (!Files.exists(runDir.resolve("campaign.db"))) {
      return 0;
    }
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      return store.ledger(loop).stream().map(LedgerEntry::getStep).distinct().count();
    }
  }

  /** The campaign's events, keeping the URL the feedback UI announces at its start. */
  private static final class UiUrl implements CampaignEvents {
    final CompletableFuture<String> url = new CompletableFuture<>();

    @Override
    public void notice(String message) {
      if (message.startsWith("feedback UI at ")) {
        url.complete(message.substring("feedback UI at ".length()).split(" ")[0]);
      }
    }
  }

  private static boolean consumedAll(Path runDir, List<String> labelIds) {
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      return labelIds.stream().allMatch(id -> store.consumptions(id).stream().anyMatch(e -> e.getLoop().equals("human")));
    }
  }
}

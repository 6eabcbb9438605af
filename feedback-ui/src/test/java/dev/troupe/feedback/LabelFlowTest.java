package dev.troupe.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.CampaignStore.LedgerItem;
import dev.troupe.actors.store.Users.Role;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.Strength;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A rater's labels through the API: stored once per client id, undone until consumed, durable when acknowledged. */
class LabelFlowTest {
  private static final long WAIT_S = 60;
  @TempDir Path dir;

  @Test
  void sameClientIdTwiceStoresOneLabelWithWhatTheRaterSaid() throws Exception {
    try (UiFixture ui = UiFixture.start(dir.resolve("run"))) {
      ui.addUser("ana", Role.RATER);
      ui.addPairTasks("dup", 2, 1);
      UiFixture.Client ana = ui.login("ana");
      JsonNode task = ana.nextTask();
      String body = UiFixture.JSON.createObjectNode().put("task_id", task.get("id").asText()).put("client_id", "click-1")
          .put("choice", task.get("responses").get(1).get("id").asText()).put("strength", "much_better")
          .put("rationale", "shorter").set("flags", UiFixture.JSON.createArrayNode().add("factually_wrong")).toString();
      HttpResponse<String> first = ana.post("/api/labels", body);
      HttpResponse<String> again = ana.post("/api/labels", body);
      assertEquals(200, first.statusCode(), first.body());
      assertEquals(200, again.statusCode(), again.body());
      String id = UiFixture.JSON.readTree(first.body()).get("label_id").asText();
      assertEquals(id, UiFixture.JSON.readTree(again.body()).get("label_id").asText());
      assertFalse(UiFixture.JSON.readTree(again.body()).get("created").asBoolean());
      List<Label> stored = ui.store().labels(FeedbackSource.FEEDBACK_SOURCE_HUMAN);
      assertEquals(1, stored.size());
      Label label = stored.get(0);
      assertEquals("ana", label.getRaterId());
      assertEquals("click-1", label.getClientId());
      assertEquals(Strength.STRENGTH_MUCH_BETTER, label.getStrength());
      assertEquals(List.of("factually_wrong"), label.getFlagsList());
      assertEquals("shorter", label.getRationale());
      // The rater chose what they saw second; the store holds the comparison's own id of that response.
      String secondText = task.get("responses").get(1).get("text").asText();
      String chosenText = ui.store().comparison(label.getComparisonId()).orElseThrow().getResponsesList().stream()
          .filter(r -> r.getId().equals(label.getChosenResponseId())).findFirst().orElseThrow().getText();
      assertEquals(secondText, chosenText);
      assertEquals(List.of(id), ui.store().unconsumedPairs("dpo", Set.of(FeedbackSource.FEEDBACK_SOURCE_HUMAN), 10)
          .stream().map(p -> p.getId()).toList());
    }
  }

  @Test
  void undoWorksUntilATrainingStepConsumedTheLabelThenAnswers409() throws Exception {
    try (UiFixture ui = UiFixture.start(dir.resolve("run"))) {
      ui.addUser("ana", Role.RATER);
      ui.addPairTasks("undo", 3, 1);
      UiFixture.Client ana = ui.login("ana");
      JsonNode first = ana.nextTask();
      String undone = UiFixture.JSON.readTree(ana.label(first, "u-1").body()).get("label_id").asText();
      JsonNode second = ana.nextTask();
      String consumed = UiFixture.JSON.readTree(ana.label(second, "u-2").body()).get("label_id").asText();
      ui.store().commitStep("dpo", 0, 1, List.of(LedgerItem.label(consumed)), null);

      HttpResponse<String> ok = ana.delete("/api/labels/" + undone);
      assertEquals(200, ok.statusCode(), ok.body());
      assertTrue(ui.store().label(undone).isEmpty(), "undone: gone from the store");
      HttpResponse<String> late = ana.delete("/api/labels/" + consumed);
      assertEquals(409, late.statusCode(), late.body());
      assertTrue(ui.store().label(consumed).isPresent(), "a consumed label stays");
      assertEquals(404, ana.delete("/api/labels/" + undone).statusCode(), "undoing twice finds nothing");
      // The undone task is due again for this rater: it has the highest priority, so it comes next.
      assertEquals(first.get("id").asText(), ana.nextTask().get("id").asText());
      JsonNode mine = UiFixture.JSON.readTree(ana.get("/api/me/labels").body()).get("labels");
      JsonNode consumedRow = null;
      for (JsonNode row : mine) {
        if (row.get("label_id").asText().equals(consumed)) {
          consumedRow = row;
        }
      }
      assertNotNull(consumedRow, mine.toString());
      assertEquals("dpo", consumedRow.get("consumed_by").get(0).get("loop").asText());
    }
  }

  @Test
  void labelSurvivesServerKillAfterAck() throws Exception {
    Path runDir = dir.resolve("killed");
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      store.users().create("ana", dev.troupe.feedback.auth.Passwords.hash(UiFixture.PASSWORD), Role.RATER);
      store.putComparison(UiFixture.comparison("kill-0", "one", "two"));
      store.tasks().enqueue(List.of(new dev.troupe.actors.store.TaskQueue.Task("t-kill-0", "kill-0",
          dev.troupe.actors.store.TaskQueue.Kind.PAIRWISE, null, null, null, 1, 1, null, null, null, 0, null)));
    }
    ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), dev.troupe.feedback.launch.StandaloneUi.class.getName(),
        "--run-dir", runDir.toString(), "--host", "127.0.0.1", "--port", "0");
    builder.redirectErrorStream(true);
    Process server = builder.start();
    List<String> output = new ArrayList<>();
    CompletableFuture<String> url = new CompletableFuture<>();
    String labelId;
    try {
      Thread reader = new Thread(() -> {
        try (BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = out.readLine(); line != null; line = out.readLine()) {
            synchronized (output) {
              output.add(line);
            }
            if (line.startsWith("feedback UI at ")) {
              url.complete(line.substring("feedback UI at ".length()).trim());
            }
          }
        } catch (java.io.IOException e) {
          // the process died: the output ends here
        }
        url.complete(null);
      }, "ui-server-output");
      reader.setDaemon(true);
      reader.start();
      String base = url.get(WAIT_S, TimeUnit.SECONDS);
      assertNotNull(base, () -> "the server printed no URL:\n" + String.join("\n", output));
      UiFixture.Client ana = UiFixture.remote(java.net.URI.create(base)).login("ana");
      JsonNode task = ana.nextTask();
      HttpResponse<String> ack = ana.label(task, "kill-click");
      server.destroyForcibly(); // SIGKILL right after the 200: no shutdown hook runs
      assertEquals(200, ack.statusCode(), ack.body());
      labelId = UiFixture.JSON.readTree(ack.body()).get("label_id").asText();
      assertTrue(server.waitFor(WAIT_S, TimeUnit.SECONDS), "the server did not die");
      assertEquals(137, server.exitValue(), "killed by SIGKILL");
    } finally {
      server.destroyForcibly();
      server.waitFor(WAIT_S, TimeUnit.SECONDS);
    }
    try (UiFixture restarted = UiFixture.start(runDir)) {
      assertEquals("ana", restarted.store().label(labelId).orElseThrow(() -> new AssertionError("acknowledged label lost"))
          .getRaterId());
      UiFixture.Client ana = restarted.login("ana");
      assertTrue(ana.get("/api/me/labels").body().contains(labelId));
      HttpResponse<String> resent = ana.post("/api/labels", UiFixture.JSON.createObjectNode().put("task_id", "t-kill-0")
          .put("client_id", "kill-click").put("choice", "a").toString());
      assertEquals(labelId, UiFixture.JSON.readTree(resent.body()).get("label_id").asText(), "a resent click stores nothing new");
      assertEquals(1, restarted.store().labels(FeedbackSource.FEEDBACK_SOURCE_HUMAN).size());
      assertNull(ana.nextTask(), "the only task is labelled");
    }
  }
}

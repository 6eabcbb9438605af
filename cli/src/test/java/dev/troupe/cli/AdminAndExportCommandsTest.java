package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.Users;
import dev.troupe.feedback.auth.Passwords;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Response;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `troupe admin create-user` and `troupe export labels` as a user calls them. */
class AdminAndExportCommandsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  @Test
  void createUserReadsThePasswordFromStdinIntoAFreshRunFolder() {
    Path runDir = dir.resolve("not-started-yet");
    Object[] made = withStdin("a long enough secret\n", () -> ModelCommandTest.troupe("admin", "create-user", "--run-dir",
        runDir.toString(), "--username", "root", "--role", "admin"));
    assertEquals(0, made[0], (String) made[2]);
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      Users.User root = store.users().find("root").orElseThrow();
      assertEquals(Users.Role.ADMIN, root.role());
      assertTrue(root.passwordHash().startsWith("$argon2id$"), root.passwordHash());
      assertFalse(root.passwordHash().contains("a long enough secret"));
      assertTrue(Passwords.matches("a long enough secret", root.passwordHash()));
      assertFalse(Passwords.matches("a long enough secreT", root.passwordHash()));
    }
    Object[] taken = withStdin("another long secret\n", () -> ModelCommandTest.troupe("admin", "create-user", "--run-dir",
        runDir.toString(), "--username", "root", "--role", "rater"));
    assertEquals(2, taken[0]);
    assertTrue(((String) taken[2]).contains("root is taken"), (String) taken[2]);
    Object[] badRole = withStdin("a long enough secret\n", () -> ModelCommandTest.troupe("admin", "create-user", "--run-dir",
        runDir.toString(), "--username", "eve", "--role", "god"));
    assertEquals(2, badRole[0]);
    assertTrue(((String) badRole[2]).contains("role is \"god\": expected rater, reviewer or admin"), (String) badRole[2]);
    Object[] shortPassword = withStdin("short\n", () -> ModelCommandTest.troupe("admin", "create-user", "--run-dir",
        runDir.toString(), "--username", "eve", "--role", "rater"));
    assertEquals(2, shortPassword[0]);
    assertTrue(((String) shortPassword[2]).contains("password: at least 10 characters"), (String) shortPassword[2]);
    Object[] noPassword = withStdin("", () -> ModelCommandTest.troupe("admin", "create-user", "--run-dir",
        runDir.toString(), "--username", "eve", "--role", "rater"));
    assertEquals(2, noPassword[0]);
    assertFalse(((String) noPassword[2]).contains("\tat "), "no stack trace: " + noPassword[2]);
  }

  @Test
  void exportWritesEachFormatWithItsVersionAndLabelsPerSource() throws Exception {
    Path runDir = dir.resolve("run");
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      store.putComparison(comparison("c1", "Human: sort 3 1 2\n\nAssistant:", "1 2 3", "3 1 2"));
      store.putComparison(comparison("c2", "count to two", "1 2", "1 2 3"));
      store.putLabel(label("h1", "c1", "a", FeedbackSource.FEEDBACK_SOURCE_HUMAN).build());
      store.putLabel(label("ai1", "c2", "b", FeedbackSource.FEEDBACK_SOURCE_AI).build());
      store.putLabel(label("tie", "c2", "", FeedbackSource.FEEDBACK_SOURCE_HUMAN).setTie(true).setClientId("t").build());
    }
    Object[] trl = ModelCommandTest.troupe("export", "labels", "--run-dir", runDir.toString(), "--format", "trl");
    assertEquals(0, trl[0], (String) trl[2]);
    List<JsonNode> rows = rows((String) trl[1]);
    assertEquals(2, rows.size(), "the tie gives no preference row");
    assertEquals("1 2 3", rows.get(0).get("chosen").asText());
    assertEquals("3 1 2", rows.get(0).get("rejected").asText());
    assertEquals("1 2 3", rows.get(1).get("chosen").asText(), "the AI judge chose b");

    Object[] hh = ModelCommandTest.troupe("export", "labels", "--run-dir", runDir.toString(), "--format", "hh",
        "--source", "human");
    List<JsonNode> hhRows = rows((String) hh[1]);
    assertEquals(1, hhRows.size());
    assertEquals("Human: sort 3 1 2\n\nAssistant: 1 2 3", hhRows.get(0).get("chosen").asText());
    Object[] hhAi = ModelCommandTest.troupe("export", "labels", "--run-dir", runDir.toString(), "--format", "hh",
        "--source", "ai");
    assertEquals("\n\nHuman: count to two\n\nAssistant: 1 2 3", rows((String) hhAi[1]).get(0).get("chosen").asText(),
        "a plain prompt becomes the human's turn");

    Path file = dir.resolve("kto.jsonl");
    Object[] kto = ModelCommandTest.troupe("export", "labels", "--run-dir", runDir.toString(), "--format", "kto",
        "--output", file.toString());
    assertEquals(0, kto[0], (String) kto[2]);
    List<JsonNode> ktoRows = rows(Files.readString(file));
    assertEquals(4, ktoRows.size(), "a desirable and an undesirable row per pair");
    assertEquals(2, ktoRows.stream().filter(r -> r.get("label").asBoolean()).count());
    // The version printed is the sha-256 of exactly these bytes (checked through the API's twin, LabelExport).
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(runDir), null, null)) {
      var result = dev.troupe.feedback.export.LabelExport.export(store, dev.troupe.feedback.export.LabelExport.Format.KTO,
          dev.troupe.feedback.export.LabelExport.allSources());
      assertEquals("sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))),
          result.version());
      assertEquals(java.util.Map.of("human", 1L, "ai", 1L), result.labelsPerSource());
    }
    Object[] bad = ModelCommandTest.troupe("export", "labels", "--run-dir", runDir.toString(), "--format", "csv");
    assertEquals(2, bad[0]);
    assertTrue(((String) bad[2]).contains("format: 'csv' is not a format (trl, hh or kto)"), (String) bad[2]);
  }

  private static Comparison comparison(String id, String prompt, String a, String b) {
    return Comparison.newBuilder().setId(id).setPrompt(Prompt.newBuilder().setId("p-" + id).setText(prompt).addTokenIds(1))
        .addResponses(Response.newBuilder().setId("a").setText(a).addTokenIds(2))
        .addResponses(Response.newBuilder().setId("b").setText(b).addTokenIds(3)).build();
  }

  private static Label.Builder label(String id, String comparison, String chosen, FeedbackSource source) {
    return Label.newBuilder().setId(id).setComparisonId(comparison).setChosenResponseId(chosen).setSource(source)
        .setRaterId(source == FeedbackSource.FEEDBACK_SOURCE_HUMAN ? "ana" : "judge");
  }

  private static List<JsonNode> rows(String text) throws Exception {
    List<JsonNode> out = new java.util.ArrayList<>();
    for (String line : text.split("\n")) {
      if (!line.isBlank()) {
        out.add(JSON.readTree(line));
      }
    }
    return out;
  }

  private static Object[] withStdin(String input, java.util.function.Supplier<Object[]> call) {
    InputStream previous = System.in;
    try {
      System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
      return call.get();
    } finally {
      System.setIn(previous);
    }
  }
}

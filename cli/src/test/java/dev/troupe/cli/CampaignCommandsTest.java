package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `troupe run`, `troupe config check` and `troupe ledger export` as a user calls them. */
class CampaignCommandsTest {
  @TempDir Path dir;

  /** The quickstart campaign at a seconds-long budget (checks the commands, not alignment). */
  private static List<String> tiny() {
    String q = "troupe.campaign.quickstart.";
    List<String> args = new ArrayList<>();
    for (String set : List.of(q + "hidden=48", q + "layers=2", q + "sft-examples=2000", q + "sft-steps=150",
        q + "rm-prompts=600", q + "rm-epochs=1", q + "eval-prompts=48", q + "dataset-pairs=200",
        "troupe.campaign.loops.rlhf.steps=3", "troupe.campaign.loops.rlaif.steps=3", "troupe.campaign.loops.dpo.steps=3",
        "troupe.campaign.loops.rlhf.batch-size=8", "troupe.campaign.loops.rlaif.batch-size=8",
        "troupe.campaign.loops.dpo.batch-size=8")) {
      args.add("--set");
      args.add(set);
    }
    return args;
  }

  @Test
  void runEndsWithTheSummaryAsJsonAndTheLedgerExportsEveryConsumedItemOnce() throws Exception {
    Path runDir = dir.resolve("run");
    List<String> args = new ArrayList<>(List.of("run", "--run-dir", runDir.toString(), "--json"));
    args.addAll(tiny());
    Object[] result = ModelCommandTest.troupe(args.toArray(String[]::new));
    assertEquals(0, result[0], (String) result[2]);
    JsonNode summary = lastJson((String) result[1]);
    assertEquals(new ObjectMapper().readTree(runDir.resolve("summary.json").toFile()), summary);
    assertEquals(runDir.toString(), summary.get("run_dir").asText());
    for (String loop : List.of("rlhf", "rlaif", "dpo")) {
      JsonNode l = summary.get("loops").get(loop);
      assertEquals(3, l.get("steps").asInt(), loop);
      assertEquals(3, l.get("adapter_version").asInt(), loop);
      assertTrue(l.get("resumed_from_step").isNull(), loop);
      assertTrue(l.get("gold_start").isNumber() && l.get("gold_end").isNumber() && l.get("kl").isNumber(), l.toString());
      assertTrue(Files.isRegularFile(runDir.resolve("adapters/" + loop + "/adapter_model.safetensors")), loop);
    }
    assertTrue(((String) result[1]).contains("gold start -> end"), "the summary table");

    Object[] export = ModelCommandTest.troupe("ledger", "export", runDir.toString());
    assertEquals(0, export[0], (String) export[2]);
    Set<String> seen = new HashSet<>();
    int rollouts = 0;
    for (String line : jsonLines((String) export[1])) {
      JsonNode row = new ObjectMapper().readTree(line);
      assertEquals(Set.of("loop", "step", "kind", "id", "adapter_version"), fieldNames(row));
      assertTrue(seen.add(row.get("loop").asText() + "/" + row.get("id").asText()), "twice: " + line);
      rollouts += row.get("loop").asText().equals("rlhf") ? 1 : 0;
    }
    assertEquals(3 * 8, rollouts, "every PPO rollout of every step");

    // Run again on the same folder: every loop resumes from its last checkpoint, nothing is redone.
    Object[] again = ModelCommandTest.troupe(args.toArray(String[]::new));
    assertEquals(0, again[0], (String) again[2]);
    JsonNode resumed = lastJson((String) again[1]);
    assertEquals(3, resumed.get("loops").get("dpo").get("resumed_from_step").asInt());
    Object[] exportAgain = ModelCommandTest.troupe("ledger", "export", runDir.toString());
    assertEquals(jsonLines((String) export[1]), jsonLines((String) exportAgain[1]), "the resumed run consumed nothing more");
  }

  @Test
  void configCheckPrintsTheResolvedCampaignOrEveryProblemWithExitCode2() throws Exception {
    Object[] shipped = ModelCommandTest.troupe("config", "check", write("ok.conf", """
        troupe.campaign { name = mine, loops { only { algorithm = grpo, steps = 7 } } }
        """).toString());
    assertEquals(0, shipped[0], (String) shipped[2]);
    assertTrue(((String) shipped[1]).contains("only"), (String) shipped[1]);

    Path bad = write("bad.conf", """
        troupe.campaign {
          loops {
            rlhf { algoritm = ppo }
            dpo { algorithm = dpx, steps = many }
          }
        }
        """);
    Object[] result = ModelCommandTest.troupe("config", "check", bad.toString());
    assertEquals(2, result[0]);
    String err = (String) result[2];
    assertTrue(err.contains("bad.conf:3") && err.contains("troupe.campaign.loops.rlhf.algoritm")
        && err.contains("algorithm"), err);
    assertTrue(err.contains("bad.conf:4") && err.contains("dpx") && err.contains("ppo, grpo, rloo, dpo, ipo, cdpo"), err);
    assertTrue(err.contains("troupe.campaign.loops.dpo.steps"), err);
  }

  /**
   * The summary line: the last of stdout in the product (its logs go to stderr); the tests' logback
   * writes warnings to stdout too, so the last line that is a JSON object.
   */
  private static JsonNode lastJson(String stdout) throws Exception {
    String[] lines = stdout.strip().split("\n");
    for (int i = lines.length - 1; i >= 0; i--) {
      if (lines[i].startsWith("{")) {
        return new ObjectMapper().readTree(lines[i]);
      }
    }
    throw new AssertionError("no JSON line in " + stdout);
  }

  /** The JSON lines of stdout (the tests' logback also writes its log lines there). */
  private static List<String> jsonLines(String stdout) {
    return stdout.lines().filter(l -> l.startsWith("{")).toList();
  }

  private Path write(String name, String text) throws Exception {
    Path file = dir.resolve(name);
    Files.writeString(file, text);
    return file;
  }

  private static Set<String> fieldNames(JsonNode node) {
    Set<String> out = new HashSet<>();
    node.fieldNames().forEachRemaining(out::add);
    return out;
  }
}

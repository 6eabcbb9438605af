package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `troupe experiment quickstart --tiny`: progress bars per phase, a readable summary, a final JSON line. */
class ExperimentCommandTest {
  @TempDir Path dir;

  @Test
  void tinyQuickstartPrintsASummaryThatMatchesItsJsonLine() throws Exception {
    PrintStream previousErr = System.err;
    ByteArrayOutputStream bars = new ByteArrayOutputStream();
    Object[] result;
    try {
      System.setErr(new PrintStream(bars, true, StandardCharsets.UTF_8)); // the progress bars draw on stderr
      result = ModelCommandTest.troupe("experiment", "quickstart", "--tiny", "--json", "--out", dir.toString());
    } finally {
      System.setErr(previousErr);
    }
    assertEquals(0, result[0], (String) result[2]);
    String[] lines = ((String) result[1]).strip().split("\n");
    JsonNode figures = new ObjectMapper().readTree(lines[lines.length - 1]);
    String summary = lines[lines.length - 2];
    assertTrue(summary.startsWith("held-out gold score"), summary);
    // The summary is the JSON's figures, rounded: SFT and the DPO gain both appear as printed there.
    double sft = figures.get("sft_gold").asDouble();
    double dpoGain = figures.get("dpo_gold").asDouble() - sft;
    assertTrue(summary.contains(String.format("SFT %.3f", sft)), summary);
    assertTrue(summary.contains(String.format("(%+.3f, KL", dpoGain)), summary);
    // The by-kind table ends with the reward model's held-out accuracy per kind, and overall under "all".
    JsonNode rm = figures.get("rm_accuracy_by_kind");
    StringBuilder expected = new StringBuilder(String.format("%-16s", "rm accuracy"));
    figures.get("sft_gold_by_kind").fieldNames().forEachRemaining(
        kind -> expected.append(String.format("%10.3f", rm.has(kind) ? rm.get(kind).asDouble() : Double.NaN)));
    expected.append(String.format("%10.3f", figures.get("rm_accuracy").asDouble()));
    assertTrue(Arrays.asList(lines).contains(expected.toString()), expected + " not in\n" + result[1]);
    String progress = bars.toString(StandardCharsets.UTF_8);
    for (String phase : new String[] {"sft", "rm", "ppo", "grpo", "dpo"}) {
      // Off a terminal each bar is printed as a line per tenth of its steps (no carriage returns to fill a log).
      assertTrue(progress.lines().anyMatch(line -> line.startsWith(phase + " ") && line.contains("[")),
          "no progress bar for " + phase + " in " + progress);
    }
  }
}

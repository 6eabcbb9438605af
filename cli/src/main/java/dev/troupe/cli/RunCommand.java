package dev.troupe.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.actors.campaign.Campaign;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.protocol.LoopStatus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The main job: a campaign of concurrent loops (the built-in quickstart when no file is given), with
 * a progress bar per loop and a summary table; resumes when its run folder already holds a campaign.
 */
@Command(name = "run", description = "Run a campaign (default: the built-in quickstart: SFT, reward model, then "
    + "PPO, online DPO on a simulated AI judge and DPO on stored pairs at once). Resumes an existing run folder.")
final class RunCommand implements Callable<Integer> {
  @Parameters(index = "0", arity = "0..1", description = "campaign file (HOCON); none: the built-in quickstart")
  Path campaign;

  @Option(names = "--run-dir", description = "run folder (default: runs/<campaign name>)")
  Path runDir;

  @Option(names = "--set", description = "KEY=VALUE over the file, e.g. --set troupe.campaign.loops.rlhf.algorithm=grpo")
  List<String> sets = new ArrayList<>();

  @Option(names = "--json", description = "end with one line holding the summary as a JSON object")
  boolean json;

  @Override
  public Integer call() throws Exception {
    CampaignConfig config = CampaignConfig.load(campaign, sets);
    Path dir = runDir != null ? runDir : Campaign.defaultRunDir(config);
    System.err.printf("troupe: campaign %s, %d loops (%s), run folder %s%n", config.name(), config.loops().size(),
        String.join(", ", config.loops().keySet()), dir);
    CampaignEvents events = consoleEvents();
    Campaign.Result result = Campaign.run(config, dir, events);
    printSummary(result.summary());
    if (json) {
      System.out.println(new ObjectMapper().writeValueAsString(result.summary()));
    }
    return result.succeeded() ? 0 : 1;
  }

  /** Progress bars for the setup's phases and one per loop, notices as lines: what a campaign shows on a console. */
  static CampaignEvents consoleEvents() {
    LoopBars bars = new LoopBars(System.err, System.console() != null);
    ProgressBar[] phase = {null};
    return new CampaignEvents() {
      @Override
      public synchronized void phaseStarted(String name, long plannedSteps) {
        if (phase[0] != null) {
          phase[0].close();
        }
        phase[0] = plannedSteps > 0 ? new ProgressBar(name, plannedSteps) : null;
        if (plannedSteps == 0) {
          System.err.println("troupe: " + name + " ...");
        }
      }

      @Override
      public synchronized void phaseStep(String name, Metrics m) {
        if (phase[0] != null) {
          phase[0].step(m.contains("loss") ? String.format("loss %.3f", m.get("loss")) : "");
        }
      }

      @Override
      public synchronized void loopStarted(LoopStatus status) {
        closePhase();
        bars.update(status, true);
      }

      @Override
      public void loopStep(LoopStatus status) {
        bars.update(status, false);
      }

      @Override
      public void loopFinished(LoopStatus status) {
        bars.update(status, true);
      }

      @Override
      public void notice(String message) {
        bars.notice(message);
      }

      private void closePhase() {
        if (phase[0] != null) {
          phase[0].close();
          phase[0] = null;
        }
      }
    };
  }

  static void printSummary(JsonNode summary) {
    System.out.println();
    System.out.printf("%-10s %-6s %-13s %7s %-23s %7s %8s %8s%n", "loop", "algo", "feedback", "steps",
        "gold start -> end", "KL", "version", "resumed");
    for (var it = summary.get("loops").fields(); it.hasNext(); ) {
      var e = it.next();
      JsonNode l = e.getValue();
      String gold = l.get("gold_start").isNull() ? "n/a" : String.format(Locale.ROOT, "%.3f -> %.3f (%+.3f)",
          l.get("gold_start").asDouble(), l.get("gold_end").asDouble(Double.NaN),
          l.get("gold_end").asDouble(Double.NaN) - l.get("gold_start").asDouble());
      System.out.printf(Locale.ROOT, "%-10s %-6s %-13s %7d %-23s %7s %8d %8s%s%n", e.getKey(), l.get("algorithm").asText(),
          l.get("feedback").asText(), l.get("steps").asLong(), gold,
          l.get("kl").isNull() ? "n/a" : String.format(Locale.ROOT, "%.3f", l.get("kl").asDouble()),
          l.get("adapter_version").asLong(), l.get("resumed_from_step").isNull() ? "-" : l.get("resumed_from_step").asText(),
          l.has("message") ? "  " + l.get("state").asText() + ": " + l.get("message").asText() : "");
    }
    System.out.printf(Locale.ROOT, "%nreward model accuracy %s; %.0f s; run folder %s%n",
        summary.get("rm_accuracy").isNull() ? "n/a" : String.format(Locale.ROOT, "%.3f", summary.get("rm_accuracy").asDouble()),
        summary.get("seconds").asDouble(), summary.get("run_dir").asText());
  }
}

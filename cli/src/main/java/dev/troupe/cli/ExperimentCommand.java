package dev.troupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.algorithms.experiment.AlignmentBar;
import dev.troupe.algorithms.experiment.Quickstart;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Built-in experiments that show alignment working, with numbers. */
@Command(name = "experiment", description = "Run a built-in experiment.", subcommands = {ExperimentCommand.QuickstartRun.class})
final class ExperimentCommand {

  private static final List<String> METHODS = AlignmentBar.METHODS;

  /**
   * Gold by kind of task: the SFT policy's with the evaluation's noise (the standard deviation over
   * resampled evaluations), then each method's gain over it, so a gain on one kind bought with another
   * shows.
   */
  @SuppressWarnings("unchecked")
  static void printByKind(Map<String, Object> results) {
    Map<String, Double> sft = (Map<String, Double>) results.get("sft_gold_by_kind");
    Map<String, Double> noise = (Map<String, Double>) results.get("sft_gold_resampled_std_by_kind");
    if (sft == null || noise == null) {
      return;
    }
    StringBuilder header = new StringBuilder(String.format("%n%-16s", "gold by kind"));
    sft.keySet().forEach(kind -> header.append(String.format("%10s", kind)));
    System.out.println(header.append(String.format("%10s%8s%10s", "all", "KL", "seconds")));
    StringBuilder row = new StringBuilder(String.format("%-16s", "sft"));
    sft.values().forEach(v -> row.append(String.format("%10.3f", v)));
    System.out.println(row.append(String.format("%10.3f", ((Number) results.get("sft_gold")).doubleValue())));
    StringBuilder std = new StringBuilder(String.format("%-16s", "  eval std"));
    sft.keySet().forEach(kind -> std.append(String.format("%10.3f", noise.get(kind))));
    System.out.println(std.append(String.format("%10.3f", ((Number) results.get("sft_gold_resampled_std")).doubleValue())));
    for (String method : METHODS) {
      Map<String, Double> byKind = (Map<String, Double>) results.get(method + "_gold_by_kind");
      if (byKind == null) {
        continue;
      }
      StringBuilder gain = new StringBuilder(String.format("%-16s", method + " gain"));
      sft.forEach((kind, v) -> gain.append(String.format("%+10.3f", byKind.getOrDefault(kind, Double.NaN) - v)));
      gain.append(String.format("%+10.3f%8.2f", ((Number) results.get(method + "_gold")).doubleValue()
          - ((Number) results.get("sft_gold")).doubleValue(), ((Number) results.get(method + "_kl")).doubleValue()));
      Object seconds = results.get(method + "_seconds");
      System.out.println(gain.append(seconds instanceof Number n ? String.format("%10.1f", n.doubleValue()) : ""));
    }
    // What the reward model can tell apart per kind: a kind it ranks poorly is one RL on it cannot teach.
    Map<String, Double> rm = (Map<String, Double>) results.get("rm_accuracy_by_kind");
    if (rm != null) {
      StringBuilder accuracy = new StringBuilder(String.format("%-16s", "rm accuracy"));
      sft.keySet().forEach(kind -> accuracy.append(String.format("%10.3f", rm.getOrDefault(kind, Double.NaN))));
      System.out.println(accuracy.append(String.format("%10.3f", ((Number) results.get("rm_accuracy")).doubleValue())));
    }
  }

  @Command(name = "quickstart", description = "SFT a tiny policy on imperfect data, learn a reward model from gold labels, "
      + "then PPO, GRPO and DPO on LoRA adapters; report held-out gold scores (by kind of task) and KL to the SFT "
      + "policy, and write gold-vs-KL curves of each method and of best-of-n (curves.csv, curves.json, curves.png) "
      + "into the work folder.")
  static final class QuickstartRun implements Callable<Integer> {
    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--json", description = "end with one line holding a JSON object of the results")
    boolean json;

    @Option(names = "--tiny", description = "a seconds-long run with tiny sizes (checks the pipeline, not the result)")
    boolean tiny;

    @Option(names = "--out", description = "work folder, where the curves are written (default: a temporary folder)")
    Path out;

    @Override
    public Integer call() throws Exception {
      Quickstart.Settings settings = (tiny ? Quickstart.Settings.tiny() : Quickstart.Settings.defaults()).withSeed(seed);
      Path dir = out != null ? Files.createDirectories(out) : Files.createTempDirectory("troupe-quickstart");
      ProgressBar[] bar = {null};
      Map<String, Object> results = new Quickstart(settings, new Quickstart.Progress() {
        @Override
        public void phaseStarted(String phase, long plannedSteps) {
          if (bar[0] != null) {
            bar[0].close();
          }
          bar[0] = new ProgressBar(phase, plannedSteps);
        }

        @Override
        public void step(String phase, Metrics m) {
          bar[0].step(m.contains("loss") ? String.format("loss %.3f", m.get("loss"))
              : m.contains(MetricNames.OBJECTIVE_SCORES) ? String.format("reward %.3f", m.get(MetricNames.OBJECTIVE_SCORES)) : "");
        }
      }).run(dir);
      if (bar[0] != null) {
        bar[0].close();
      }
      BenchCommand.printTable(results);
      printByKind(results);
      @SuppressWarnings("unchecked")
      Map<String, String> curves = (Map<String, String>) results.get("curves");
      if (curves != null) {
        System.out.printf("%ngold-vs-KL curves: %s (table: %s, %s)%n", curves.get("png"), curves.get("csv"),
            curves.get("json"));
      }
      System.out.println();
      // Issue 11's bar, as QuickstartAlignmentTest asserts it on seed 1; before the one-line summary,
      // which stays the line just above the JSON (scripts and ExperimentCommandTest read it there).
      List<String> failures = AlignmentBar.failures(results, 0.05, 2, 1);
      System.out.println(failures.isEmpty()
          ? "every method gains > max(0.05, 2 evaluation std's) at KL < 1 with no kind falling beyond 2 of its std's"
          : "below the bar: " + String.join("; ", failures));
      double sft = ((Number) results.get("sft_gold")).doubleValue();
      System.out.printf("%nheld-out gold score (hidden scorer, 0-1): SFT %.3f", sft);
      for (String method : METHODS) {
        double gold = ((Number) results.get(method + "_gold")).doubleValue();
        System.out.printf(", %s %.3f (%+.3f, KL %.2f)", method.toUpperCase(Locale.ROOT), gold, gold - sft,
            ((Number) results.get(method + "_kl")).doubleValue());
      }
      System.out.printf("; reward model agrees with gold on %.0f%% of held-out pairs%n",
          100 * ((Number) results.get("rm_accuracy")).doubleValue());
      if (json) {
        System.out.println(new ObjectMapper().writeValueAsString(results));
      }
      return 0;
    }
  }
}

package dev.troupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.algorithms.experiment.Quickstart;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Built-in experiments that show alignment working, with numbers. */
@Command(name = "experiment", description = "Run a built-in experiment.", subcommands = {ExperimentCommand.QuickstartRun.class})
final class ExperimentCommand {

  @Command(name = "quickstart", description = "SFT a tiny policy on imperfect data, learn a reward model from gold labels, "
      + "then PPO, GRPO and DPO on LoRA adapters; report held-out gold scores and KL to the SFT policy.")
  static final class QuickstartRun implements Callable<Integer> {
    @Option(names = "--seed", defaultValue = "1")
    long seed;

    @Option(names = "--json", description = "end with one line holding a JSON object of the results")
    boolean json;

    @Option(names = "--tiny", description = "a seconds-long run with tiny sizes (checks the pipeline, not the result)")
    boolean tiny;

    @Option(names = "--out", description = "work folder (default: a temporary folder)")
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
      double sft = ((Number) results.get("sft_gold")).doubleValue();
      System.out.printf("%nheld-out gold score (hidden scorer, 0-1): SFT %.3f", sft);
      for (String method : new String[] {"ppo", "grpo", "dpo"}) {
        double gold = ((Number) results.get(method + "_gold")).doubleValue();
        System.out.printf(", %s %.3f (%+.3f, KL %.2f)", method.toUpperCase(java.util.Locale.ROOT), gold, gold - sft,
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

package dev.troupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.algorithms.experiment.Quickstart;
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
      String[] phase = {""};
      int[] steps = {0};
      Map<String, Object> results = new Quickstart(settings, (p, m) -> {
        if (!p.equals(phase[0])) {
          if (!phase[0].isEmpty()) {
            System.err.println();
          }
          phase[0] = p;
          steps[0] = 0;
        }
        steps[0]++;
        String shown = m.contains("loss") ? String.format("loss %.3f", m.get("loss"))
            : m.contains("objective/scores") ? String.format("reward %.3f", m.get("objective/scores")) : "";
        System.err.printf("\r%-5s step %4d  %s          ", p, steps[0], shown);
      }).run(dir);
      System.err.println();
      BenchCommand.printTable(results);
      if (json) {
        System.out.println(new ObjectMapper().writeValueAsString(results));
      }
      return 0;
    }
  }
}

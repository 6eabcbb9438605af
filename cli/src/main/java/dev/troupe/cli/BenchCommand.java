package dev.troupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.cli.bench.AlgorithmsBenchmark;
import dev.troupe.cli.bench.ModelBenchmark;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Benchmarks that print ratios measured in the same run; never timed tests. */
@Command(name = "bench", description = "Measure speed and memory.", subcommands = {BenchCommand.Model.class,
    BenchCommand.Algorithms.class})
final class BenchCommand {

  /** The options every benchmark takes. */
  static final class Options {
    @Option(names = "--json", description = "end with one line holding a JSON object of every figure")
    boolean json;

    @Option(names = "--tiny", description = "a seconds-long run on a tiny shape (checks the harness, not the machine)")
    boolean tiny;
  }

  @Command(name = "model", description = "Model core on the bench-15m shape: train MFU, decode speed, KV-cache speedup, memory.")
  static final class Model implements Callable<Integer> {
    @Mixin Options options;

    @Override
    public Integer call() throws Exception {
      ModelBenchmark.Settings settings = options.tiny ? ModelBenchmark.Settings.tiny() : ModelBenchmark.Settings.bench15m();
      return report(new ModelBenchmark(settings, BenchCommand::progress).run(), options.json);
    }
  }

  @Command(name = "algorithms", description = "One PPO iteration split into generate / score / reference / update, "
      + "and one DPO step, each with its MFU against the roofline, on the bench-15m shape.")
  static final class Algorithms implements Callable<Integer> {
    @Mixin Options options;

    @Override
    public Integer call() throws Exception {
      AlgorithmsBenchmark.Settings settings = options.tiny
          ? AlgorithmsBenchmark.Settings.tiny()
          : AlgorithmsBenchmark.Settings.bench15m();
      return report(new AlgorithmsBenchmark(settings, BenchCommand::progress).run(), options.json);
    }
  }

  private static void progress(String step) {
    System.err.println("bench: " + step);
  }

  private static int report(Map<String, Object> results, boolean json) throws Exception {
    printTable(results);
    if (json) {
      System.out.println(new ObjectMapper().writeValueAsString(results));
    }
    return 0;
  }

  static void printTable(Map<String, Object> results) {
    int width = results.keySet().stream().mapToInt(String::length).max().orElse(10);
    for (Map.Entry<String, Object> e : results.entrySet()) {
      Object v = e.getValue();
      String shown = v instanceof Double d ? (Math.abs(d) >= 100 ? String.format("%.1f", d) : String.format("%.4f", d)) : String.valueOf(v);
      System.out.printf("%-" + width + "s  %s%n", e.getKey(), shown);
    }
  }
}

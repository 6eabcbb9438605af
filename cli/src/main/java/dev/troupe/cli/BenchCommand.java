package dev.troupe.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.cli.bench.ModelBenchmark;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Benchmarks that print ratios measured in the same run; never timed tests. */
@Command(name = "bench", description = "Measure speed and memory.", subcommands = {BenchCommand.Model.class})
final class BenchCommand {

  @Command(name = "model", description = "Model core on the bench-15m shape: train MFU, decode speed, KV-cache speedup, memory.")
  static final class Model implements Callable<Integer> {
    @Option(names = "--json", description = "end with one line holding a JSON object of every figure")
    boolean json;

    @Option(names = "--tiny", description = "a seconds-long run on a tiny shape (checks the harness, not the machine)")
    boolean tiny;

    @Override
    public Integer call() throws Exception {
      ModelBenchmark.Settings settings = tiny ? ModelBenchmark.Settings.tiny() : ModelBenchmark.Settings.bench15m();
      Map<String, Object> results = new ModelBenchmark(settings, step -> System.err.println("bench: " + step)).run();
      printTable(results);
      if (json) {
        System.out.println(new ObjectMapper().writeValueAsString(results));
      }
      return 0;
    }
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

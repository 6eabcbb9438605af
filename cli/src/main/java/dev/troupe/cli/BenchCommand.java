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
    BenchCommand.Algorithms.class, BenchCommand.CampaignLoops.class, BenchCommand.Cluster.class, BenchCommand.Soak.class})
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

  @Command(name = "campaign", description = "A campaign's loops at once vs one after another from one shared setup:"
      + " loops-phase seconds of each and concurrent_over_sequential (default: the quickstart campaign).")
  static final class CampaignLoops implements Callable<Integer> {
    @Mixin Options options;

    @picocli.CommandLine.Parameters(index = "0", arity = "0..1", description = "campaign file (default: the quickstart)")
    java.nio.file.Path campaign;

    @Option(names = "--set", description = "KEY=VALUE over the campaign")
    java.util.List<String> sets = new java.util.ArrayList<>();

    @Option(names = "--work", description = "work folder (default: a temporary folder)")
    java.nio.file.Path work;

    @Override
    public Integer call() throws Exception {
      java.util.List<String> all = new java.util.ArrayList<>();
      if (options.tiny) {
        String q = "troupe.campaign.quickstart.";
        all.addAll(java.util.List.of(q + "hidden=48", q + "layers=2", q + "sft-examples=2000", q + "sft-steps=150",
            q + "rm-prompts=600", q + "rm-epochs=1", q + "eval-prompts=48", q + "dataset-pairs=200"));
        for (String loop : java.util.List.of("rlhf", "rlaif", "dpo")) {
          all.add("troupe.campaign.loops." + loop + ".steps=6");
        }
      }
      all.addAll(sets);
      dev.troupe.actors.config.CampaignConfig config = dev.troupe.actors.config.CampaignConfig.load(campaign, all);
      java.nio.file.Path dir = work != null ? java.nio.file.Files.createDirectories(work)
          : java.nio.file.Files.createTempDirectory("troupe-bench-campaign");
      return report(new dev.troupe.cli.bench.CampaignBenchmark(config, dir, BenchCommand::progress).run(), options.json);
    }
  }

  @Command(name = "cluster", description = "The cluster's cost: a PPO iteration with its policy and reward workers in two"
      + " other JVMs over one JVM (cluster_over_local), how long after a step every worker serves the new adapter"
      + " (adapter_publish_p50_ms / p95_ms), and the data plane on the bench-15m shape (mixed_adapter_batch_ratio,"
      + " adapter_bytes_fraction, rollouts_per_s_grpc_over_inprocess).")
  static final class Cluster implements Callable<Integer> {
    @Mixin Options options;

    @Option(names = "--work", description = "work folder (default: a temporary folder)")
    java.nio.file.Path work;

    @Override
    public Integer call() throws Exception {
      java.nio.file.Path dir = work != null ? java.nio.file.Files.createDirectories(work)
          : java.nio.file.Files.createTempDirectory("troupe-bench-cluster");
      dev.troupe.cli.bench.ClusterBenchmark.Settings settings = options.tiny
          ? dev.troupe.cli.bench.ClusterBenchmark.Settings.tiny()
          : dev.troupe.cli.bench.ClusterBenchmark.Settings.bench15m();
      return report(new dev.troupe.cli.bench.ClusterBenchmark(settings, dir, BenchCommand::progress).run(), options.json);
    }
  }

  @Command(name = "soak", description = "Leave a campaign running (the quickstart's loops on a small base, steps without"
      + " end) and sample JVM heap and resident memory: start and end figures, growth per 1000 steps.")
  static final class Soak implements Callable<Integer> {
    @Mixin Options options;

    @Option(names = "--minutes", defaultValue = "20", description = "how long to run (default: ${DEFAULT-VALUE})")
    double minutes;

    @Option(names = "--set", description = "KEY=VALUE over the campaign")
    java.util.List<String> sets = new java.util.ArrayList<>();

    @Override
    public Integer call() throws Exception {
      java.util.List<String> all = new java.util.ArrayList<>();
      String q = "troupe.campaign.quickstart.";
      all.addAll(java.util.List.of(q + "hidden=64", q + "layers=2", q + "sft-examples=4000", q + "sft-steps=200",
          q + "rm-prompts=2000", q + "rm-epochs=1", q + "eval-prompts=64", q + "dataset-pairs=1000000",
          "troupe.campaign.checkpoint.every=50"));
      for (String loop : java.util.List.of("rlhf", "rlaif", "dpo")) {
        all.add("troupe.campaign.loops." + loop + ".steps=1000000");
      }
      all.add("troupe.campaign.loops.dpo.feedback=gold");
      all.addAll(sets);
      dev.troupe.actors.config.CampaignConfig config = dev.troupe.actors.config.CampaignConfig.load(null, all);
      java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("troupe-soak");
      return report(new dev.troupe.cli.bench.SoakBenchmark(config, dir, options.tiny ? 1.5 : minutes,
          BenchCommand::progress).run(), options.json);
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

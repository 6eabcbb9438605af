package dev.troupe.cli.bench;

import dev.troupe.actors.campaign.Campaign;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.campaign.CampaignSetup;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.node.ClusterNode;
import dev.troupe.actors.node.NodeRole;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.policy.bench.DataPlaneBenchmark;
import dev.troupe.protocol.LoopStatus;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * The cluster's cost, each figure a ratio or a latency measured in this run: one PPO loop's iteration
 * time with its policy and reward workers in two other JVMs (reached over gRPC on loopback) over the
 * same loop in one JVM, from one shared setup; how long after a learner's step every policy worker
 * serves the new adapter version in that cluster; and the data plane's figures on the bench-15m shape
 * (a batch mixing adapters against one adapter, bytes per publish against the base, rollouts over gRPC
 * against in process).
 */
public final class ClusterBenchmark {
  /**
   * @param hidden, layers the quickstart base's shape for the campaign (its vocabulary is the quickstart's bytes)
   * @param steps PPO steps of each run
   * @param warmupSteps steps not timed: the iteration time is the mean step-to-step time after them (the
   *     workers' JVMs start with the cluster run and compile their code during its first steps)
   */
  public record Settings(int hidden, int layers, int steps, int warmupSteps, int batchSize,
      DataPlaneBenchmark.Settings dataPlane, List<String> setupSets) {
    public Settings {
      if (warmupSteps < 1 || steps - warmupSteps < 2) {
        throw new IllegalArgumentException("need warmupSteps >= 1 and at least 2 timed steps after them, got "
            + warmupSteps + " of " + steps);
      }
    }

    /** The bench-15m width and depth (dim 288, 6 layers), batches of 32, a short setup. */
    public static Settings bench15m() {
      return new Settings(288, 6, 20, 5, 32, DataPlaneBenchmark.Settings.bench15m(), List.of(
          "troupe.campaign.quickstart.sft-examples=4000", "troupe.campaign.quickstart.sft-steps=60",
          "troupe.campaign.quickstart.rm-prompts=400", "troupe.campaign.quickstart.rm-epochs=1",
          "troupe.campaign.quickstart.eval-prompts=64", "troupe.campaign.quickstart.dataset-pairs=100"));
    }

    /** A seconds-long run on tiny shapes, for a test of the benchmark itself. */
    public static Settings tiny() {
      return new Settings(48, 2, 5, 2, 8, DataPlaneBenchmark.Settings.tiny(), List.of(
          "troupe.campaign.quickstart.sft-examples=2000", "troupe.campaign.quickstart.sft-steps=30",
          "troupe.campaign.quickstart.rm-prompts=200", "troupe.campaign.quickstart.rm-epochs=1",
          "troupe.campaign.quickstart.eval-prompts=16", "troupe.campaign.quickstart.dataset-pairs=50"));
    }
  }

  private final Settings settings;
  private final Path work;
  private final Consumer<String> progress;

  public ClusterBenchmark(Settings settings, Path work, Consumer<String> progress) {
    this.settings = settings;
    this.work = work;
    this.progress = progress;
  }

  public Map<String, Object> run() throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("cores", Runtime.getRuntime().availableProcessors());
    progress.accept("data plane on " + settings.dataPlane().config().hiddenSize() + "-wide model");
    Map<String, Object> dataPlane = new DataPlaneBenchmark(settings.dataPlane(), progress).run();
    for (String key : List.of("shape", "mixed_adapter_batch_ratio", "mixed_adapter_batch_ratio_segmented",
        "mixed_adapter_batch_ratio_gathered", "default_strategy", "adapter_bytes_per_publish", "base_model_bytes",
        "adapter_bytes_fraction", "rollouts_per_s_inprocess", "rollouts_per_s_grpc", "rollouts_per_s_grpc_over_inprocess")) {
      r.put(key, dataPlane.get(key));
    }
    r.put("grpc_publish_p50_ms", dataPlane.get("adapter_publish_p50_ms"));
    r.put("grpc_publish_p95_ms", dataPlane.get("adapter_publish_p95_ms"));

    CampaignConfig config = ppoOnly();
    r.put("campaign", "quickstart PPO loop: dim " + settings.hidden() + ", " + settings.layers() + " layers, "
        + settings.steps() + " steps of " + settings.batchSize() + " rollouts, timed after the first "
        + settings.warmupSteps());
    Path setup = Files.createDirectories(work.resolve("setup"));
    progress.accept("setup (SFT, reward model) in " + setup);
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(setup), null, null);
        CampaignSetup.Resources ignored = CampaignSetup.prepare(config, setup, store, CampaignEvents.NONE)) {
      // the base and reward model are on disk: both runs start from them
    }
    progress.accept("the PPO loop in one JVM");
    Steps local = new Steps();
    Campaign.Result alone = Campaign.run(config, copy(setup, work.resolve("local")), local);
    requireDone(alone);
    progress.accept("the PPO loop with its policy and reward workers in two other JVMs");
    Steps cluster = new Steps();
    Campaign.Result spread = inCluster(config, copy(setup, work.resolve("cluster")), cluster);
    requireDone(spread);
    double localIteration = local.iterationSeconds(settings.warmupSteps());
    double clusterIteration = cluster.iterationSeconds(settings.warmupSteps());
    r.put("local_iteration_s", round(localIteration));
    r.put("cluster_iteration_s", round(clusterIteration));
    r.put("cluster_over_local", round(clusterIteration / localIteration));
    List<Long> publishes = new ArrayList<>(cluster.publishMs);
    r.put("adapter_publishes", publishes.size());
    r.put("adapter_publish_p50_ms", percentile(publishes, 0.50));
    r.put("adapter_publish_p95_ms", percentile(publishes, 0.95));
    r.put("local_gold_gain", gain(alone.loops().get("rlhf")));
    r.put("cluster_gold_gain", gain(spread.loops().get("rlhf")));
    return r;
  }

  /** The quickstart's PPO loop alone, at the settings' shape and budget, without its UI. */
  private CampaignConfig ppoOnly() {
    List<String> sets = new ArrayList<>(settings.setupSets());
    sets.add("troupe.campaign.quickstart.hidden=" + settings.hidden());
    sets.add("troupe.campaign.quickstart.layers=" + settings.layers());
    sets.add("troupe.campaign.loops.rlhf.steps=" + settings.steps());
    sets.add("troupe.campaign.loops.rlhf.batch-size=" + settings.batchSize());
    sets.add("troupe.campaign.ui.enabled=false");
    CampaignConfig all = CampaignConfig.load(null, sets);
    LoopConfig rlhf = all.loops().get("rlhf");
    return new CampaignConfig(all.name(), all.seed(), all.baseModel(), all.rewardModel(), all.quickstart(), all.prompts(),
        Map.of(rlhf.name(), rlhf), all.checkpoint(), all.store(), all.tensorThreads(), all.ui(), all.feedbackQueue());
  }

  /** Learner step ends and publish latencies, as the campaign reports them. */
  private static final class Steps implements CampaignEvents {
    final List<Long> endedMs = new CopyOnWriteArrayList<>();
    final List<Long> publishMs = new CopyOnWriteArrayList<>();

    @Override
    public void loopStep(LoopStatus status) {
      endedMs.add(status.getStepEndedMs());
    }

    @Override
    public void adapterPublished(String loop, long version, long millis) {
      publishMs.add(millis);
    }

    /** Mean seconds from one step's end to the next, after the first {@code warmup} steps. */
    double iterationSeconds(int warmup) {
      List<Long> ends = endedMs.stream().sorted().toList();
      if (ends.size() < warmup + 2) {
        throw new IllegalStateException("too few steps to time: " + ends.size() + " after " + warmup + " of warm-up");
      }
      return (ends.get(ends.size() - 1) - ends.get(warmup - 1)) / 1000.0 / (ends.size() - warmup);
    }
  }

  /** The campaign with this JVM as coordinator and a policy and a reward member each in a JVM of its own. */
  private Campaign.Result inCluster(CampaignConfig config, Path runDir, CampaignEvents events) throws Exception {
    int coordinator = freePort();
    int policy = freePort();
    int reward = freePort();
    String seeds = "127.0.0.1:" + coordinator + ",127.0.0.1:" + policy + ",127.0.0.1:" + reward;
    List<Process> workers = new ArrayList<>();
    try {
      ClusterNode.Running running = ClusterNode.start(new ClusterNode.Settings(EnumSet.of(NodeRole.COORDINATOR,
          NodeRole.LEARNER, NodeRole.FEEDBACK), "127.0.0.1", coordinator, 0, List.of(seeds.split(",")), runDir, config),
          events);
      workers.add(member("policy", policy, seeds));
      workers.add(member("reward", reward, seeds));
      Campaign.Result result = running.await();
      for (Process p : workers) {
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          progress.accept("a worker JVM did not exit after the campaign's end; stopping it");
        }
      }
      return result;
    } finally {
      for (Process p : workers) {
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  private Process member(String role, int port, String seeds) throws IOException {
    Path log = work.resolve(role + ".log");
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx2g",
        "-Dai.djl.offline=true", "-cp", System.getProperty("java.class.path"), "dev.troupe.cli.Troupe", "node",
        "--roles", role, "--port", String.valueOf(port), "--seeds", seeds, "--run-dir", work.resolve(role).toString());
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.to(log.toFile()));
    builder.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
    return builder.start();
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static void requireDone(Campaign.Result result) {
    if (!result.succeeded()) {
      throw new IllegalStateException("the PPO loop did not finish: " + result.loops());
    }
  }

  private static Double gain(LoopStatus s) {
    return s.hasGoldEnd() ? round(s.getGoldEnd() - s.getGoldStart()) : null;
  }

  private static Long percentile(List<Long> values, double q) {
    if (values.isEmpty()) {
      return null;
    }
    List<Long> sorted = values.stream().sorted().toList();
    return sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(q * sorted.size()) - 1));
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private static Path copy(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (Path p : walk.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
    return to;
  }
}

package dev.troupe.cli.bench;

import dev.troupe.actors.campaign.Campaign;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.campaign.CampaignSetup;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.LoopStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * A campaign's loops at once against the same loops one after another, from one shared setup (base,
 * reward model, stored pairs) copied into a folder per run: the wall time of the loops phase (first
 * loop started to last loop finished) of each, and their ratio, measured in the same process.
 */
public final class CampaignBenchmark {
  private final CampaignConfig config;
  private final Path work;
  private final Consumer<String> progress;

  public CampaignBenchmark(CampaignConfig config, Path work, Consumer<String> progress) {
    this.config = config;
    this.work = work;
    this.progress = progress;
  }

  public Map<String, Object> run() throws Exception {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("cores", Runtime.getRuntime().availableProcessors());
    r.put("tensor_threads", config.tensorThreads());
    Path setup = work.resolve("setup");
    Files.createDirectories(setup);
    progress.accept("setup (SFT, labelled pairs, reward model) in " + setup);
    long start = System.nanoTime();
    try (CampaignStore store = CampaignStore.open(CampaignStore.defaultUrl(setup), null, null);
        CampaignSetup.Resources ignored = CampaignSetup.prepare(config, setup, store, CampaignEvents.NONE)) {
      r.put("setup_s", (System.nanoTime() - start) / 1e9);
    }
    progress.accept("all loops at once");
    Phase concurrent = loops(config, copy(setup, work.resolve("concurrent")));
    double sequential = 0;
    Map<String, LoopStatus> alone = new LinkedHashMap<>();
    for (LoopConfig loop : config.loops().values()) {
      progress.accept("loop " + loop.name() + " alone");
      CampaignConfig single = new CampaignConfig(config.name(), config.seed(), config.baseModel(), config.rewardModel(),
          config.quickstart(), config.prompts(), Map.of(loop.name(), loop), config.checkpoint(), config.store(),
          config.tensorThreads());
      Phase phase = loops(single, copy(setup, work.resolve("alone-" + loop.name())));
      sequential += phase.seconds();
      alone.putAll(phase.loops());
    }
    r.put("concurrent_loops_s", concurrent.seconds());
    r.put("sequential_loops_s", sequential);
    r.put("concurrent_over_sequential", concurrent.seconds() / sequential);
    for (LoopConfig loop : config.loops().values()) {
      report(r, loop.name() + "_concurrent", concurrent.loops().get(loop.name()));
      report(r, loop.name() + "_alone", alone.get(loop.name()));
    }
    return r;
  }

  /** The loops phase of one campaign run: first loop started to last loop finished. */
  private record Phase(double seconds, Map<String, LoopStatus> loops) {}

  private static Phase loops(CampaignConfig config, Path runDir) throws Exception {
    AtomicLong first = new AtomicLong(Long.MAX_VALUE);
    AtomicLong last = new AtomicLong();
    Campaign.Result result = Campaign.run(config, runDir, new CampaignEvents() {
      @Override
      public void loopStarted(LoopStatus status) {
        first.accumulateAndGet(System.nanoTime(), Math::min);
      }

      @Override
      public void loopFinished(LoopStatus status) {
        last.accumulateAndGet(System.nanoTime(), Math::max);
      }
    });
    if (!result.succeeded()) {
      throw new IllegalStateException("a loop failed: " + result.loops());
    }
    return new Phase((last.get() - first.get()) / 1e9, result.loops());
  }

  private static void report(Map<String, Object> r, String prefix, LoopStatus s) {
    r.put(prefix + "_gold_gain", s.hasGoldEnd() ? s.getGoldEnd() - s.getGoldStart() : null);
    r.put(prefix + "_kl", s.hasKl() ? s.getKl() : null);
  }

  /** A copy of the set-up run folder: base, reward model, tokenizer, setup record and the store with its pairs. */
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

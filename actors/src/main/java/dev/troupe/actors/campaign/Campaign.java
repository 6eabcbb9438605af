package dev.troupe.actors.campaign;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.protocol.LoopState;
import dev.troupe.protocol.LoopStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Runs a campaign in this process to its end: opens (or resumes) the run folder and its store, starts
 * the actor system with the {@link CampaignGuardian}, waits for every loop to finish, and writes
 * {@code summary.json}. Running it again on the same folder resumes each loop from its newest valid
 * checkpoint.
 */
public final class Campaign {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How long a worker may take to answer before its request is reissued. */
  public static final Duration ASK_TIMEOUT = Duration.ofMinutes(10);

  private Campaign() {}

  /** Each loop's final status, the summary written, and the seconds it took. */
  public record Result(ObjectNode summary, Map<String, LoopStatus> loops, double seconds) {
    public boolean succeeded() {
      return loops.values().stream().allMatch(s -> s.getState() == LoopState.LOOP_STATE_DONE);
    }
  }

  /** {@code runs/<campaign name>}: the default run folder. */
  public static Path defaultRunDir(CampaignConfig config) {
    return Path.of("runs", config.name());
  }

  public static Result run(CampaignConfig config, Path runDir, CampaignEvents events) throws IOException,
      InterruptedException {
    try (Running running = start(config, runDir, events)) {
      return running.await();
    }
  }

  /**
   * Starts the campaign and returns at once; {@link Running#await} waits for its end, {@link Running#stop}
   * ends it early (each loop keeps what its last committed checkpoint holds; running it again resumes).
   */
  public static Running start(CampaignConfig config, Path runDir, CampaignEvents events) throws IOException {
    Files.createDirectories(runDir);
    Files.writeString(runDir.resolve("campaign.conf"), config.render());
    CampaignStore store = openStore(config, runDir);
    CompletableFuture<CampaignGuardian.Outcome> done = new CompletableFuture<>();
    ActorSystem<CampaignGuardian.Command> system;
    try {
      system = ActorSystem.create(CampaignGuardian.create(config, runDir, store, events, ASK_TIMEOUT, done), "troupe",
          actorConfig(config));
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    return new Running(config, runDir, store, system, done, System.nanoTime(),
        startExtensions(new CampaignExtension.Context(config, runDir, store, system, events)));
  }

  /** Starts every {@link CampaignExtension} on the class path (the feedback UI); one that fails is a notice. */
  public static java.util.List<AutoCloseable> startExtensions(CampaignExtension.Context context) {
    java.util.List<AutoCloseable> started = new java.util.ArrayList<>();
    for (CampaignExtension extension : java.util.ServiceLoader.load(CampaignExtension.class)) {
      try {
        started.add(extension.start(context));
      } catch (Exception e) {
        context.events().notice(extension.getClass().getSimpleName() + " did not start: " + e.getMessage());
      }
    }
    return started;
  }

  /** The campaign's store: its configured URL, or the run folder's SQLite file. */
  public static CampaignStore openStore(CampaignConfig config, Path runDir) {
    String url = config.store().url() != null ? config.store().url() : CampaignStore.defaultUrl(runDir);
    String password = config.store().passwordEnv() == null ? null : System.getenv(config.store().passwordEnv());
    return CampaignStore.open(url, config.store().user(), password);
  }

  /** Writes {@code summary.json} (atomically) and returns it. */
  public static ObjectNode writeSummary(CampaignConfig config, Path runDir, CampaignGuardian.Outcome outcome,
      double seconds) throws IOException {
    ObjectNode summary = summary(config, runDir, outcome, seconds);
    Path temp = runDir.resolve("summary.json.tmp");
    Files.write(temp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(summary));
    Files.move(temp, runDir.resolve("summary.json"), StandardCopyOption.ATOMIC_MOVE,
        StandardCopyOption.REPLACE_EXISTING);
    return summary;
  }

  /** A campaign running in this process. */
  public static final class Running implements AutoCloseable {
    private final CampaignConfig config;
    private final Path runDir;
    private final CampaignStore store;
    private final ActorSystem<CampaignGuardian.Command> system;
    private final CompletableFuture<CampaignGuardian.Outcome> done;
    private final long start;
    private final java.util.List<AutoCloseable> extensions;

    private Running(CampaignConfig config, Path runDir, CampaignStore store, ActorSystem<CampaignGuardian.Command> system,
        CompletableFuture<CampaignGuardian.Outcome> done, long start, java.util.List<AutoCloseable> extensions) {
      this.extensions = extensions;
      this.config = config;
      this.runDir = runDir;
      this.store = store;
      this.system = system;
      this.done = done;
      this.start = start;
    }

    /** Waits for every loop to finish, then writes summary.json; throws when the setup failed. */
    public Result await() throws IOException, InterruptedException {
      CampaignGuardian.Outcome outcome;
      try {
        outcome = done.get();
      } catch (java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException("the campaign failed: " + e.getCause().getMessage(), e.getCause());
      } finally {
        terminate();
      }
      if (outcome.setupError() != null) {
        throw new IllegalStateException("campaign setup failed: " + outcome.setupError().getMessage(),
            outcome.setupError());
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      ObjectNode summary = writeSummary(config, runDir, outcome, seconds);
      return new Result(summary, outcome.loops(), seconds);
    }

    /** The campaign's status, pause, resume and stop, as CampaignService offers them. */
    public CampaignControls control() {
      CampaignControls controls = new CampaignControls(Duration.ofSeconds(30));
      controls.connect(system, system);
      return controls;
    }

    /** Ends the campaign now: the actors stop, the workers' resources are freed, the store closes. */
    public void stop() {
      terminate();
    }

    private void terminate() {
      for (AutoCloseable extension : extensions) {
        try {
          extension.close();
        } catch (Exception e) {
          org.slf4j.LoggerFactory.getLogger(Campaign.class).warn("stopping {}: {}", extension, e.getMessage());
        }
      }
      extensions.clear();
      system.terminate();
      try {
        system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
        throw new IllegalStateException("the actor system did not stop within 60 s", e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        store.close();
      }
    }

    @Override
    public void close() {
      if (!system.getWhenTerminated().toCompletableFuture().isDone()) {
        terminate();
      }
    }
  }

  /** Pekko's settings for this campaign: the tensor dispatcher sized by {@code tensor-threads}. */
  static Config actorConfig(CampaignConfig config) {
    int threads = config.tensorThreads() > 0 ? config.tensorThreads() : Runtime.getRuntime().availableProcessors();
    return ConfigFactory.parseString("troupe.tensor-dispatcher.thread-pool-executor.fixed-pool-size = " + threads)
        .withFallback(ConfigFactory.load());
  }

  /** The summary the issue names: run_dir, seconds, rm_accuracy and each loop's figures. */
  static ObjectNode summary(CampaignConfig config, Path runDir, CampaignGuardian.Outcome outcome, double seconds) {
    ObjectNode out = JSON.createObjectNode();
    out.put("run_dir", runDir.toString());
    out.put("seconds", seconds);
    if (outcome.rmAccuracy() == null) {
      out.putNull("rm_accuracy");
    } else {
      out.put("rm_accuracy", outcome.rmAccuracy());
    }
    ObjectNode loops = out.putObject("loops");
    Map<String, LoopStatus> ordered = new LinkedHashMap<>();
    for (LoopConfig loop : config.loops().values()) {
      LoopStatus s = outcome.loops().get(loop.name());
      if (s != null) {
        ordered.put(loop.name(), s);
      }
    }
    ordered.forEach((name, s) -> {
      ObjectNode l = loops.putObject(name);
      l.put("algorithm", s.getAlgorithm());
      l.put("feedback", s.getFeedback());
      putNullable(l, "gold_start", s.hasGoldStart() ? s.getGoldStart() : null);
      putNullable(l, "gold_end", s.hasGoldEnd() ? s.getGoldEnd() : null);
      putNullable(l, "kl", s.hasKl() ? s.getKl() : null);
      l.put("steps", s.getStep());
      l.put("adapter_version", s.getAdapterVersion());
      if (s.hasResumedFromStep()) {
        l.put("resumed_from_step", s.getResumedFromStep());
      } else {
        l.putNull("resumed_from_step");
      }
      l.put("state", s.getState().name().substring("LOOP_STATE_".length()).toLowerCase(java.util.Locale.ROOT));
      if (!s.getMessage().isEmpty()) {
        l.put("message", s.getMessage());
      }
    });
    return out;
  }

  private static void putNullable(ObjectNode node, String key, Double value) {
    if (value == null) {
      node.putNull(key);
    } else {
      node.put(key, value);
    }
  }
}

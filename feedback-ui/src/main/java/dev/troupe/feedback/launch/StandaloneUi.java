package dev.troupe.feedback.launch;

import com.typesafe.config.ConfigFactory;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.FeedbackQueueSettings;
import dev.troupe.actors.config.UiSettings;
import dev.troupe.actors.feedback.FeedbackCollector;
import dev.troupe.actors.feedback.HumanQueue;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.feedback.server.FeedbackServer;
import dev.troupe.model.tokenizer.Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The feedback UI without a running campaign ({@code troupe ui --run-dir DIR}): its own actor system
 * with a {@link FeedbackCollector} over the run folder's store (made on demand), so raters can label
 * what the queue holds and admins can watch and export, before, between and after a campaign's runs.
 */
public final class StandaloneUi implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StandaloneUi.class);

  private final CampaignStore store;
  private final ActorSystem<FeedbackCollector.Command> system;
  private final FeedbackServer server;
  private final Tokenizer tokenizer;

  private StandaloneUi(CampaignStore store, ActorSystem<FeedbackCollector.Command> system, FeedbackServer server,
      Tokenizer tokenizer) {
    this.store = store;
    this.system = system;
    this.server = server;
    this.tokenizer = tokenizer;
  }

  /**
   * Starts the UI over {@code runDir}: the campaign's own settings (store, ui, queue) when the folder holds
   * its campaign.conf, defaults otherwise; {@code host} and {@code port} override the campaign's when not null.
   */
  public static StandaloneUi start(Path runDir, String host, Integer port) {
    CampaignConfig config = campaignOf(runDir);
    String url = config != null && config.store().url() != null ? config.store().url() : CampaignStore.defaultUrl(runDir);
    String user = config == null ? null : config.store().user();
    String password = config == null || config.store().passwordEnv() == null ? null : System.getenv(config.store().passwordEnv());
    UiSettings ui = config == null ? UiSettings.DEFAULT : config.ui();
    FeedbackQueueSettings queue = config == null ? FeedbackQueueSettings.DEFAULT : config.feedbackQueue();
    Map<String, Integer> staleness = new LinkedHashMap<>();
    if (config != null) {
      config.loops().values().forEach(l -> staleness.put(l.name(), l.maxStaleness()));
    }
    Tokenizer tokenizer = tokenizerOf(runDir);
    Function<String, long[]> encode = tokenizer == null ? null : HumanQueue.responseTokens(tokenizer);
    CampaignStore store = CampaignStore.open(url, user, password);
    ActorSystem<FeedbackCollector.Command> system = null;
    try {
      system = ActorSystem.create(FeedbackCollector.create(store, Map.of(), new FeedbackCollector.Raters(queue, staleness,
          null, null, encode, config == null ? 0 : config.seed())), "troupe-ui", ConfigFactory.load());
      ActorSystem<FeedbackCollector.Command> collector = system;
      FeedbackServer server = FeedbackServer.start(system, store, () -> collector, config,
          host != null ? host : ui.host(), port != null ? port : ui.port());
      return new StandaloneUi(store, system, server, tokenizer);
    } catch (RuntimeException e) {
      if (system != null) {
        system.terminate();
      }
      store.close();
      if (tokenizer != null) {
        tokenizer.close();
      }
      throw e;
    }
  }

  public java.net.URI url() {
    return server.url();
  }

  /** The store this UI serves (open while the UI runs). */
  public CampaignStore store() {
    return store;
  }

  /** Runs until the process is told to stop (Ctrl-C, SIGTERM), then stops cleanly. */
  public void awaitShutdown() throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      close();
      stopped.countDown();
    }, "troupe-ui-shutdown"));
    stopped.await();
  }

  @Override
  public synchronized void close() {
    server.close();
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception e) {
      log.warn("the UI's actor system did not stop cleanly: {}", e.getMessage());
    }
    store.close();
    if (tokenizer != null) {
      tokenizer.close();
    }
  }

  /**
   * The store of a run folder, as its campaign configured it (campaign.conf's store settings) or the
   * default SQLite file, made (with its folder) when it does not exist yet.
   */
  public static CampaignStore openStore(Path runDir) {
    CampaignConfig config = campaignOf(runDir);
    if (config == null || config.store().url() == null) {
      return CampaignStore.open(CampaignStore.defaultUrl(runDir), config == null ? null : config.store().user(), null);
    }
    String password = config.store().passwordEnv() == null ? null : System.getenv(config.store().passwordEnv());
    return CampaignStore.open(config.store().url(), config.store().user(), password);
  }

  private static CampaignConfig campaignOf(Path runDir) {
    Path file = runDir.resolve("campaign.conf");
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try {
      return CampaignConfig.load(file, java.util.List.of());
    } catch (RuntimeException e) {
      log.warn("{} does not load ({}): the UI uses the default settings", file, e.getMessage());
      return null;
    }
  }

  private static Tokenizer tokenizerOf(Path runDir) {
    Path file = runDir.resolve("base").resolve("tokenizer.json");
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try {
      return Tokenizer.load(file);
    } catch (Exception e) {
      log.warn("{} does not load ({}): rewrites are refused", file, e.getMessage());
      return null;
    }
  }

  /** {@code --run-dir DIR [--host H] [--port P]}: prints the URL on its own line, then serves until stopped. */
  public static void main(String[] args) throws Exception {
    Path runDir = null;
    String host = null;
    Integer port = null;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--run-dir" -> runDir = Path.of(args[i + 1]);
        case "--host" -> host = args[i + 1];
        case "--port" -> port = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i] + " (--run-dir, --host, --port)");
      }
    }
    if (runDir == null) {
      throw new IllegalArgumentException("--run-dir DIR is required");
    }
    StandaloneUi ui = start(runDir, host, port);
    System.out.println("feedback UI at " + ui.url());
    System.out.flush();
    ui.awaitShutdown();
  }
}

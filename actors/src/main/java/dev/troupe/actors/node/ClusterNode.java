package dev.troupe.actors.node;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.troupe.actors.campaign.Campaign;
import dev.troupe.actors.campaign.CampaignAssetFolder;
import dev.troupe.actors.campaign.CampaignControls;
import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.campaign.CampaignExtension;
import dev.troupe.actors.campaign.CampaignGuardian;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.policy.PolicyBackend;
import dev.troupe.policy.grpc.PolicyGrpcService;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.CampaignEnded;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.grpc.CampaignGrpcService;
import dev.troupe.protocol.grpc.GrpcServer;
import dev.troupe.protocol.grpc.ServerSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member of a campaign's Pekko cluster ({@code troupe node}): joins through the seeds, holds its
 * roles, and ends when the campaign does. A coordinator member prepares the campaign (or resumes it
 * from its run folder), runs the campaign's guardian as a cluster singleton, serves the campaign's
 * files and its control (CampaignService) on its gRPC port, and when every loop ended writes
 * {@code summary.json} and tells every member to exit. A worker member serves the policy and reward
 * roles once the guardian attached it.
 */
public final class ClusterNode {
  private static final Logger LOG = LoggerFactory.getLogger(ClusterNode.class);

  /** The actor system's name: every member of a campaign's cluster uses it in its address. */
  public static final String SYSTEM = "troupe";

  private ClusterNode() {}

  /**
   * What {@code troupe node} was given.
   *
   * @param seeds {@code host:port} of members to join through (this member's own address may be among them)
   * @param campaign the campaign (required with the coordinator role; the other roles take theirs from it)
   * @param bootstrap instead of seeds: the discovery method through which Pekko Management's cluster
   *     bootstrap finds the other members ({@code kubernetes-api}, {@code config}, ...); null: seeds
   * @param managementPort with bootstrap: the port of this member's Pekko Management HTTP endpoint
   */
  public record Settings(Set<NodeRole> roles, String host, int port, int grpcPort, List<String> seeds, Path runDir,
      CampaignConfig campaign, String bootstrap, int managementPort) {
    public Settings {
      if (roles.contains(NodeRole.COORDINATOR) && campaign == null) {
        throw new IllegalArgumentException("--campaign: the coordinator role needs the campaign to run");
      }
      if (bootstrap != null && !seeds.isEmpty()) {
        throw new IllegalArgumentException("--seeds and --bootstrap: give one of them (seeds name members to join"
            + " through; bootstrap discovers them)");
      }
      if (bootstrap == null && seeds.isEmpty()) {
        throw new IllegalArgumentException("--seeds: name at least one member to join through (host:port; the"
            + " first member of a new cluster names itself), or discover them with --bootstrap METHOD");
      }
      if (bootstrap != null && !bootstrap.matches("[A-Za-z0-9.-]+")) {
        throw new IllegalArgumentException("--bootstrap: '" + bootstrap + "' is not a discovery method's name"
            + " (kubernetes-api, config, ...)");
      }
      if (managementPort < 0 || managementPort > 65535) {
        throw new IllegalArgumentException("--management-port must be in [0, 65535]");
      }
      for (String seed : seeds) {
        int colon = seed.lastIndexOf(':');
        if (colon <= 0 || !seed.substring(colon + 1).matches("\\d{1,5}")) {
          throw new IllegalArgumentException("--seeds: '" + seed + "' is not host:port");
        }
      }
      if (port < 0 || port > 65535 || grpcPort < 0 || grpcPort > 65535) {
        throw new IllegalArgumentException("--port and --grpc-port must be in [0, 65535]");
      }
    }

    /** Joining through seeds. */
    public Settings(Set<NodeRole> roles, String host, int port, int grpcPort, List<String> seeds, Path runDir,
        CampaignConfig campaign) {
      this(roles, host, port, grpcPort, seeds, runDir, campaign, null, 0);
    }

    boolean has(NodeRole role) {
      return roles.contains(role);
    }

    String name() {
      return NodeRole.names(roles) + "@" + host + ":" + port;
    }
  }

  /** Starts the member; {@link Running#await} waits for the campaign's end. */
  public static Running start(Settings settings, CampaignEvents events) throws IOException {
    BootstrapJoin join = bootstrapJoin().orElse(null);
    if (settings.bootstrap() != null && join == null) {
      throw new IllegalArgumentException("--bootstrap " + settings.bootstrap() + ": cluster bootstrap needs the"
          + " troupe-kubernetes module on the class path (java -cp \"kubernetes/target/troupe-kubernetes.jar:"
          + "kubernetes/target/lib/*\" dev.troupe.cli.Troupe node ...; see the README); or give --seeds");
    }
    Files.createDirectories(settings.runDir());
    Config config = pekkoConfig(settings);
    boolean coordinator = settings.has(NodeRole.COORDINATOR);
    CampaignStore store = null;
    GrpcServer server = null;
    CompletableFuture<CampaignGuardian.Outcome> done = new CompletableFuture<>();
    CampaignControls controls = new CampaignControls(Duration.ofSeconds(30));
    WorkerNode.Settings workers = null;
    List<AutoCloseable> extensions = new ArrayList<>();
    try {
      if (coordinator) {
        CampaignConfig campaign = settings.campaign();
        Files.writeString(settings.runDir().resolve("campaign.conf"), campaign.render());
        store = Campaign.openStore(campaign, settings.runDir());
        Path assets = CampaignAssetFolder.of(settings.runDir());
        ServerSettings grpc = ServerSettings.fromConfig(config);
        grpc = new ServerSettings(settings.host(), settings.grpcPort(), grpc.maxMessageBytes(), grpc.certificateChain(),
            grpc.privateKey());
        server = GrpcServer.start(grpc, List.of(
            new PolicyGrpcService(FILES_ONLY, ForkJoinPool.commonPool(), assets,
                PolicyGrpcService.DEFAULT_MAX_ADAPTER_BYTES, grpc.maxMessageBytes()).bindService(),
            new CampaignGrpcService(controls).bindService()));
      } else {
        workers = new WorkerNode.Settings(settings.has(NodeRole.POLICY), settings.has(NodeRole.REWARD),
            settings.host(), settings.grpcPort(), settings.runDir().resolve("cache"), settings.name(), config, events);
      }
      ActorSystem<NodeGuardian.Command> system = ActorSystem.create(NodeGuardian.create(workers), SYSTEM, config);
      if (settings.bootstrap() != null) {
        join.start(system, settings.bootstrap());
      }
      if (coordinator) {
        CampaignGuardian.Placement placement = new CampaignGuardian.Placement(settings.has(NodeRole.POLICY),
            settings.has(NodeRole.REWARD), settings.host(), server.port());
        ActorRef<CampaignGuardian.Command> guardian = ClusterSingleton.get(system).init(SingletonActor.of(
            CampaignGuardian.create(settings.campaign(), settings.runDir(), store, events, Campaign.ASK_TIMEOUT, done,
                placement), "campaign").withSettings(ClusterSingletonSettings.create(system).withRole(
                    NodeRole.COORDINATOR.configName())));
        controls.connect(system, guardian);
        extensions.addAll(Campaign.startExtensions(new CampaignExtension.Context(settings.campaign(), settings.runDir(),
            store, system, events)));
      }
      LOG.info("cluster member {} started (pekko://{}@{}:{}, {})", settings.name(), SYSTEM, settings.host(),
          settings.port(), settings.bootstrap() != null ? "bootstrap through " + settings.bootstrap() + " discovery,"
              + " management on port " + settings.managementPort() : "seeds " + settings.seeds());
      return new Running(settings, system, store, server, done, System.nanoTime(), extensions);
    } catch (IOException | RuntimeException e) {
      if (server != null) {
        server.close();
      }
      if (store != null) {
        store.close();
      }
      throw e;
    }
  }

  /** The coordinator's gRPC port serves files and control only: generation is the policy workers' job. */
  private static final PolicyBackend FILES_ONLY = new PolicyBackend() {
    private IllegalStateException refuse() {
      return new IllegalStateException("this is a coordinator's gRPC port: it serves the campaign's files (FetchBase)"
          + " and its control (CampaignService); policy workers listen on their own members' ports");
    }

    @Override
    public RolloutBatch generate(GenerateRequest request) {
      throw refuse();
    }

    @Override
    public LogProbsBatch logProbs(LogProbsRequest request) {
      throw refuse();
    }

    @Override
    public void load(AdapterVersion version) {
      throw refuse();
    }
  };

  /**
   * Pekko's settings for a member: the command line's address, seeds (or bootstrap) and roles over
   * system properties ({@code -Dpekko.cluster.split-brain-resolver.stable-after=5s}), over the cluster
   * bootstrap module's settings when it is on the class path, over {@code troupe-cluster.conf}, over
   * the defaults.
   */
  static Config pekkoConfig(Settings settings) {
    List<String> joining = new ArrayList<>();
    if (settings.bootstrap() == null) {
      joining.add("pekko.cluster.seed-nodes = [" + settings.seeds().stream().map(s -> "\"pekko://" + SYSTEM + "@" + s
          + "\"").collect(Collectors.joining(", ")) + "]");
    } else {
      joining.add("pekko.management.http.hostname = \"" + settings.host() + "\"");
      joining.add("pekko.management.http.port = " + settings.managementPort());
      joining.add("pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method = " + settings.bootstrap());
    }
    String roles = settings.roles().stream().map(r -> "\"" + r.configName() + "\"").collect(Collectors.joining(", "));
    int threads = settings.campaign() != null && settings.campaign().tensorThreads() > 0
        ? settings.campaign().tensorThreads() : Runtime.getRuntime().availableProcessors();
    Config flags = ConfigFactory.parseString(String.join("\n",
        "pekko.remote.artery.canonical.hostname = \"" + settings.host() + "\"",
        "pekko.remote.artery.canonical.port = " + settings.port(),
        String.join("\n", joining),
        "pekko.cluster.roles = [" + roles + "]",
        "troupe.tensor-dispatcher.thread-pool-executor.fixed-pool-size = " + threads));
    Config joinSettings = bootstrapJoin().map(BootstrapJoin::config).orElse(ConfigFactory.empty());
    return flags.withFallback(ConfigFactory.systemProperties()).withFallback(joinSettings)
        .withFallback(ConfigFactory.parseResources(ClusterNode.class.getClassLoader(), "troupe-cluster.conf"))
        .withFallback(ConfigFactory.load()).resolve();
  }

  /** The cluster bootstrap, when its module is on the class path. */
  static java.util.Optional<BootstrapJoin> bootstrapJoin() {
    return java.util.ServiceLoader.load(BootstrapJoin.class, ClusterNode.class.getClassLoader()).findFirst();
  }

  /** A member running in this process. */
  public static final class Running implements AutoCloseable {
    private final Settings settings;
    private final ActorSystem<NodeGuardian.Command> system;
    private final CampaignStore store;
    private final GrpcServer server;
    private final CompletableFuture<CampaignGuardian.Outcome> done;
    private final long start;

    private final List<AutoCloseable> extensions;

    private Running(Settings settings, ActorSystem<NodeGuardian.Command> system, CampaignStore store, GrpcServer server,
        CompletableFuture<CampaignGuardian.Outcome> done, long start, List<AutoCloseable> extensions) {
      this.extensions = extensions;
      this.settings = settings;
      this.system = system;
      this.store = store;
      this.server = server;
      this.done = done;
      this.start = start;
    }

    /** The member's actor system (tests look at its cluster state). */
    public ActorSystem<NodeGuardian.Command> system() {
      return system;
    }

    /** The port the coordinator's gRPC server bound, or 0 for another member. */
    public int grpcPort() {
      return server == null ? 0 : server.port();
    }

    /**
     * Waits for the campaign's end. A coordinator then writes {@code summary.json}, tells every other
     * member to exit and returns the result; another member returns null once it was told.
     */
    public Campaign.Result await() throws IOException, InterruptedException {
      if (store == null) {
        try {
          system.getWhenTerminated().toCompletableFuture().get();
        } catch (ExecutionException e) {
          throw new IllegalStateException("the member stopped: " + e.getCause().getMessage(), e.getCause());
        }
        return null;
      }
      CampaignGuardian.Outcome outcome;
      try {
        outcome = done.get();
      } catch (ExecutionException e) {
        close();
        throw new IllegalStateException("the campaign failed: " + e.getCause().getMessage(), e.getCause());
      }
      if (outcome.setupError() != null) {
        close();
        throw new IllegalStateException("campaign setup failed: " + outcome.setupError().getMessage(),
            outcome.setupError());
      }
      double seconds = (System.nanoTime() - start) / 1e9;
      ObjectNode summary = Campaign.writeSummary(settings.campaign(), settings.runDir(), outcome, seconds);
      Campaign.Result result = new Campaign.Result(summary, outcome.loops(), seconds);
      endMembers(result.succeeded());
      close();
      return result;
    }

    /** Tells every other member the campaign ended (each answers before it leaves), within 20 s. */
    private void endMembers(boolean succeeded) {
      CampaignEnded ended = CampaignEnded.newBuilder().setCampaign(settings.campaign().name()).setSucceeded(succeeded)
          .build();
      Duration timeout = Duration.ofSeconds(10);
      try {
        Receptionist.Listing listing = AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
            r -> Receptionist.find(NodeGuardian.KEY, r), timeout, system.scheduler()).toCompletableFuture()
            .get(20, TimeUnit.SECONDS);
        List<CompletableFuture<Ack>> answers = new ArrayList<>();
        for (ActorRef<NodeGuardian.Command> member : listing.getServiceInstances(NodeGuardian.KEY)) {
          if (member.path().address().hasGlobalScope()) {
            CompletionStage<Ack> answer = AskPattern.ask(member, r -> new NodeGuardian.End(ended, r), timeout,
                system.scheduler());
            answers.add(answer.toCompletableFuture());
          }
        }
        CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        LOG.info("told {} other members that the campaign ended", answers.size());
        // Leaving last, once the others are gone, spares every member waiting on a leader that is leaving too.
        org.apache.pekko.cluster.typed.Cluster cluster = org.apache.pekko.cluster.typed.Cluster.get(system);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline && java.util.stream.StreamSupport.stream(
            cluster.state().getMembers().spliterator(), false).count() > 1) {
          Thread.sleep(100);
        }
      } catch (ExecutionException | TimeoutException e) {
        LOG.warn("not every member heard that the campaign ended: {}", e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    /** Leaves the cluster and stops: the actors stop, the workers' resources are freed, the store closes. */
    @Override
    public synchronized void close() {
      for (AutoCloseable extension : extensions) {
        try {
          extension.close();
        } catch (Exception e) {
          LOG.warn("stopping {}: {}", extension, e.getMessage());
        }
      }
      extensions.clear();
      try {
        if (!system.getWhenTerminated().toCompletableFuture().isDone()) {
          system.terminate();
          system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
      } catch (ExecutionException | TimeoutException e) {
        LOG.warn("the actor system did not stop within 60 s: {}", e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        if (server != null) {
          server.close();
        }
        if (store != null) {
          store.close();
        }
      }
    }
  }
}

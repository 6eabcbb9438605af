package dev.troupe.actors.campaign;

import dev.troupe.actors.checkpoint.Checkpoints;
import dev.troupe.actors.cluster.PolicyPool;
import dev.troupe.actors.cluster.RewardPool;
import dev.troupe.actors.node.WorkerNode;
import dev.troupe.protocol.AttachReply;
import dev.troupe.protocol.CampaignAssets;
import dev.troupe.protocol.LoopRewardModel;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.Feedback;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.feedback.FeedbackCollector;
import dev.troupe.actors.judge.Judge;
import dev.troupe.actors.judge.RewardModelJudge;
import dev.troupe.actors.loop.LoopContext;
import dev.troupe.actors.loop.LoopCoordinator;
import dev.troupe.actors.loop.LoopSeeds;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.model.lifecycle.UsageGate;
import dev.troupe.policy.PolicyService;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.protocol.CampaignControlReply;
import dev.troupe.protocol.CampaignControlRequest;
import dev.troupe.protocol.CampaignStatus;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.LoopStatus;
import dev.troupe.protocol.wire.WireMessage;
import dev.troupe.reward.RewardService;
import dev.troupe.reward.RewardWorker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * The campaign: prepares the base, tokenizer, reward model and prompts (on the tensor dispatcher),
 * then starts the workers (one policy worker over the one base, a reward worker, the feedback
 * collector with each loop's judge) and one coordinator per loop, all at once; answers status; stops
 * when every loop has finished, completing {@code done} with every loop's final status.
 */
public final class CampaignGuardian extends AbstractBehavior<CampaignGuardian.Command> {
  public sealed interface Command {}

  public record GetStatus(org.apache.pekko.actor.typed.ActorRef<CampaignStatus> replyTo) implements Command, WireMessage {}

  /** CampaignService's pause of some loops (none named: all). */
  public record Pause(CampaignControlRequest request, ActorRef<CampaignControlReply> replyTo)
      implements Command, WireMessage {}

  public record Resume(CampaignControlRequest request, ActorRef<CampaignControlReply> replyTo)
      implements Command, WireMessage {}

  public record Stop(CampaignControlRequest request, ActorRef<CampaignControlReply> replyTo)
      implements Command, WireMessage {}

  private record Steer(LoopCoordinator.Control control, CampaignControlRequest request,
      ActorRef<CampaignControlReply> replyTo) {}

  private record Steered(Steer request, List<LoopStatus> statuses, Throwable error) implements Command {}

  private record SetupDone(CampaignSetup.Resources resources, Throwable error) implements Command {}

  private record LoopReported(LoopStatus status) implements Command {}

  /** How the campaign ended: each loop's final status and the reward model's accuracy (quickstart). */
  public record Outcome(Map<String, LoopStatus> loops, Double rmAccuracy, Throwable setupError) {}

  private final CampaignConfig config;
  private final Path runDir;
  private final CampaignStore store;
  private final CampaignEvents events;
  private final CompletableFuture<Outcome> done;
  private final Duration askTimeout;
  private final Map<String, LoopStatus> finished = new LinkedHashMap<>();
  /** Each loop's status as it last reported it (from the loops' threads: see {@link #watching}). */
  private final Map<String, LoopStatus> latest = new java.util.concurrent.ConcurrentHashMap<>();
  private final Map<String, ActorRef<LoopCoordinator.Command>> coordinators = new LinkedHashMap<>();
  private final Map<String, Judge> judges = new LinkedHashMap<>();
  private CampaignSetup.Resources resources;
  private PolicyService policyService;
  private RewardService rewardService;
  private final UsageGate judgeGate = new UsageGate("the campaign's judges");
  private String phase = "setup";
  private final TimerScheduler<Command> timers;
  private final Placement placement;
  private CampaignAssets assets;
  private final Set<ActorRef<WorkerNode.Command>> nodes = new HashSet<>();
  private final Set<ActorRef<WorkerNode.Command>> attached = new HashSet<>();
  private final long startedMs = System.currentTimeMillis();

  /**
   * Which workers run in the guardian's process, over the campaign's own base (the rest are found in
   * the cluster), and where worker nodes fetch the campaign's files (null host: no cluster).
   */
  public record Placement(boolean localPolicy, boolean localReward, String assetHost, int assetPort) {
    /** Every role in this process, no cluster: {@code troupe run}. */
    public static Placement oneProcess() {
      return new Placement(true, true, null, 0);
    }

    boolean clustered() {
      return assetHost != null;
    }
  }

  public static Behavior<Command> create(CampaignConfig config, Path runDir, CampaignStore store,
      CampaignEvents events, Duration askTimeout, CompletableFuture<Outcome> done) {
    return create(config, runDir, store, events, askTimeout, done, Placement.oneProcess());
  }

  public static Behavior<Command> create(CampaignConfig config, Path runDir, CampaignStore store,
      CampaignEvents events, Duration askTimeout, CompletableFuture<Outcome> done, Placement placement) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> new CampaignGuardian(ctx, timers, config, runDir,
        store, events, askTimeout, done, placement)));
  }

  private CampaignGuardian(ActorContext<Command> ctx, TimerScheduler<Command> timers, CampaignConfig config,
      Path runDir, CampaignStore store, CampaignEvents events, Duration askTimeout, CompletableFuture<Outcome> done,
      Placement placement) {
    super(ctx);
    this.timers = timers;
    this.placement = placement;
    if (placement.clustered()) {
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(WorkerNode.KEY,
          ctx.messageAdapter(Receptionist.Listing.class, NodesListed::new)));
    }

    this.config = config;
    this.runDir = runDir;
    this.store = store;
    this.events = events;
    this.askTimeout = askTimeout;
    this.done = done;
    Executor tensors = ctx.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("troupe.tensor-dispatcher"));
    CompletableFuture<CampaignSetup.Resources> setup = CompletableFuture.supplyAsync(() -> {
      try {
        return CampaignSetup.prepare(config, runDir, store, events);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, tensors);
    ctx.pipeToSelf(setup, SetupDone::new);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(SetupDone.class, this::onSetupDone)
        .onMessage(LoopReported.class, this::onLoopReported)
        .onMessage(GetStatus.class, this::onGetStatus)
        .onMessage(Pause.class, m -> onSteer(new Steer(LoopCoordinator.Control.PAUSE, m.request(), m.replyTo())))
        .onMessage(Resume.class, m -> onSteer(new Steer(LoopCoordinator.Control.RESUME, m.request(), m.replyTo())))
        .onMessage(Stop.class, m -> onSteer(new Steer(LoopCoordinator.Control.STOP, m.request(), m.replyTo())))
        .onMessage(Steered.class, m -> {
          if (m.error() != null) {
            m.request().replyTo().tell(CampaignControlReply.newBuilder().setOk(false).setMessage(
                "a loop did not answer: " + m.error().getMessage()).setStatus(status()).build());
          } else {
            m.statuses().forEach(l -> latest.put(l.getLoop(), l));
            m.request().replyTo().tell(CampaignControlReply.newBuilder().setOk(true).setMessage(
                m.request().control().name().toLowerCase(java.util.Locale.ROOT) + ": " + m.statuses().stream()
                    .map(LoopStatus::getLoop).toList()).setStatus(status()).build());
          }
          return this;
        })
        .onMessage(AssetsGathered.class, this::onAssetsGathered)
        .onMessage(NodesListed.class, this::onNodesListed)
        .onMessage(NodeAttached.class, this::onNodeAttached)
        .onMessage(AttachAgain.class, m -> {
          if (nodes.contains(m.node()) && assets != null) {
            attach(m.node());
          }
          return this;
        })
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private Behavior<Command> onSetupDone(SetupDone m) {
    if (m.error() != null) {
      Throwable cause = m.error().getCause() != null ? m.error().getCause() : m.error();
      getContext().getLog().error("campaign setup failed", cause);
      done.complete(new Outcome(Map.of(), null, cause));
      return Behaviors.stopped();
    }
    resources = m.resources();
    int versionsKept = config.loops().values().stream().mapToInt(LoopConfig::maxInFlight).max().orElse(1) + 2;
    com.typesafe.config.Config settings = getContext().getSystem().settings().config();
    List<ActorRef<PolicyWorker.Command>> localPolicy = new ArrayList<>();
    if (placement.localPolicy()) {
      policyService = new PolicyService(resources.model(), resources.tokenizer(), "policy-0",
          store.campaignId() + "/", versionsKept, PolicyService.Batching.of(settings));
      ActorRef<PolicyWorker.Command> worker = getContext().spawn(PolicyWorker.create(policyService), "policy-0");
      getContext().getSystem().receptionist().tell(Receptionist.register(PolicyWorker.KEY, worker));
      localPolicy.add(worker);
    }
    ActorRef<PolicyWorker.Command> policy = getContext().spawn(PolicyPool.create(versionsKept, settings, askTimeout,
        localPolicy), "policy-pool");
    rewardService = new RewardService();
    List<LoopRewardModel> loopRewardModels = CampaignRewardModels.loopModels(config);
    List<ActorRef<RewardWorker.Command>> localReward = new ArrayList<>();
    if (placement.localReward()) {
      CampaignRewardModels.serve(rewardService, resources.model(), resources.rewardModel(), resources.normalize(),
          loopRewardModels);
      ActorRef<RewardWorker.Command> worker = getContext().spawn(RewardWorker.create(rewardService), "reward-0");
      getContext().getSystem().receptionist().tell(Receptionist.register(RewardWorker.KEY, worker));
      localReward.add(worker);
    } else {
      // The reward-model judge of an online DPO loop scores here, beside the feedback collector.
      CampaignRewardModels.serve(rewardService, resources.model(), resources.rewardModel(), resources.normalize(),
          List.of());
    }
    ActorRef<RewardWorker.Command> reward = getContext().spawn(RewardPool.create(settings, askTimeout, localReward),
        "reward-pool");
    if (placement.clustered()) {
      gatherAssets(versionsKept, loopRewardModels);
    }
    Map<String, FeedbackCollector.LoopJudge> loopJudges = new LinkedHashMap<>();
    for (LoopConfig loop : config.loops().values()) {
      FeedbackCollector.LoopJudge judge = judgeOf(loop);
      if (judge != null) {
        loopJudges.put(loop.name(), new FeedbackCollector.LoopJudge(gated(judge.judge()), judge.relabel()));
        judges.put(loop.name(), judge.judge());
      }
    }
    // The raters' queue (issue 12): the reward worker orders candidates, the tokenizer turns rewrites into tokens.
    Map<String, Integer> maxStaleness = new LinkedHashMap<>();
    config.loops().values().forEach(l -> maxStaleness.put(l.name(), l.maxStaleness()));
    FeedbackCollector.Raters raters = new FeedbackCollector.Raters(config.feedbackQueue(), maxStaleness,
        resources.rewardModel() != null ? reward : null, LoopCoordinator.CAMPAIGN_REWARD_MODEL,
        dev.troupe.actors.feedback.HumanQueue.responseTokens(resources.tokenizer()), config.seed());
    ActorRef<FeedbackCollector.Command> feedback = getContext().spawn(FeedbackCollector.create(store, loopJudges,
        raters), "feedback");
    ActorRef<LoopStatus> reports = getContext().messageAdapter(LoopStatus.class, LoopReported::new);
    Checkpoints checkpoints = new Checkpoints(runDir.resolve("checkpoints"));
    phase = "loops";
    for (LoopConfig loop : config.loops().values()) {
      LoopContext context = new LoopContext(loop, config, runDir, resources.model(), store, checkpoints,
          loop.samplesPrompts() ? resources.prompts() : null, resources.gold(), watching(events), askTimeout);
      coordinators.put(loop.name(), getContext().spawn(
          LoopCoordinator.create(context, policy, reward, feedback, reports), "loop-" + loop.name()));
    }
    return this;
  }

  /** The events as given, remembering each loop's latest status for {@link #status()}. */
  private CampaignEvents watching(CampaignEvents events) {
    return new CampaignEvents() {
      @Override
      public void phaseStarted(String phase, long plannedSteps) {
        events.phaseStarted(phase, plannedSteps);
      }

      @Override
      public void phaseStep(String phase, dev.troupe.algorithms.metrics.Metrics metrics) {
        events.phaseStep(phase, metrics);
      }

      @Override
      public void loopStarted(LoopStatus status) {
        latest.put(status.getLoop(), status);
        events.loopStarted(status);
      }

      @Override
      public void loopStep(LoopStatus status) {
        latest.put(status.getLoop(), status);
        events.loopStep(status);
      }

      @Override
      public void loopFinished(LoopStatus status) {
        latest.put(status.getLoop(), status);
        events.loopFinished(status);
      }

      @Override
      public void adapterPublished(String loop, long version, long millis) {
        events.adapterPublished(loop, version, millis);
      }

      @Override
      public void notice(String message) {
        events.notice(message);
      }
    };
  }

  // ---- worker nodes (a cluster) --------------------------------------------------------------------

  /** Links the campaign's files under the asset folder and describes them (checksums: on an I/O thread). */
  private void gatherAssets(int versionsKept, List<LoopRewardModel> loopRewardModels) {
    Executor io = getContext().getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("troupe.io-dispatcher"));
    boolean rewardModel = resources.rewardModel() != null;
    Normalization normalization = resources.normalize();
    CompletableFuture<CampaignAssets> gathered = CompletableFuture.supplyAsync(() -> {
      try {
        return normalization.into(CampaignAssetFolder.gather(runDir, config, rewardModel))
            .setCampaignId(store.campaignId()).setAssetHost(placement.assetHost()).setAssetPort(placement.assetPort())
            .setAdapterVersionsKept(versionsKept).addAllLoopRewardModels(loopRewardModels).build();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, io);
    getContext().pipeToSelf(gathered, AssetsGathered::new);
  }

  private record AssetsGathered(CampaignAssets assets, Throwable error) implements Command {}

  private record NodesListed(Receptionist.Listing listing) implements Command {}

  private record NodeAttached(ActorRef<WorkerNode.Command> node, AttachReply reply, Throwable error)
      implements Command {}

  private record AttachAgain(ActorRef<WorkerNode.Command> node) implements Command {}

  private Behavior<Command> onAssetsGathered(AssetsGathered m) {
    if (m.error() != null) {
      Throwable cause = m.error().getCause() != null ? m.error().getCause() : m.error();
      getContext().getLog().error("the campaign's files cannot be handed to worker nodes", cause);
      events.notice("worker nodes cannot be attached: " + cause.getMessage());
      return this;
    }
    assets = m.assets();
    getContext().getLog().info("worker nodes get the campaign's {} files from {}:{}", assets.getFilesCount(),
        assets.getAssetHost(), assets.getAssetPort());
    nodes.forEach(this::attach);
    return this;
  }

  private Behavior<Command> onNodesListed(NodesListed m) {
    Set<ActorRef<WorkerNode.Command>> listed = m.listing().getServiceInstances(WorkerNode.KEY);
    nodes.retainAll(listed);
    attached.retainAll(listed);
    for (ActorRef<WorkerNode.Command> node : listed) {
      if (nodes.add(node) && assets != null) {
        attach(node);
      }
    }
    return this;
  }

  private void attach(ActorRef<WorkerNode.Command> node) {
    if (attached.contains(node)) {
      return;
    }
    getContext().ask(AttachReply.class, node, ATTACH_TIMEOUT, replyTo -> new WorkerNode.Attach(assets, replyTo),
        (reply, error) -> new NodeAttached(node, reply, error));
  }

  /** A node loads the base (fetching it first, when its cache lacks it) before it answers. */
  private static final Duration ATTACH_TIMEOUT = Duration.ofMinutes(30);

  private Behavior<Command> onNodeAttached(NodeAttached m) {
    if (!nodes.contains(m.node())) {
      return this;
    }
    if (m.error() != null || !m.reply().getOk()) {
      String why = m.error() != null ? m.error().getMessage() : m.reply().getError();
      getContext().getLog().warn("attaching worker node {}: {}; trying again in 10 s", m.node().path().address(), why);
      events.notice("worker node " + m.node().path().address() + " could not be attached: " + why);
      timers.startSingleTimer(new AttachAgain(m.node()), Duration.ofSeconds(10));
      return this;
    }
    attached.add(m.node());
    getContext().getLog().info("worker node {} attached{}", m.reply().getNode(), m.reply().getAlreadyAttached()
        ? " (it already served this campaign)" : " (" + m.reply().getFilesFetched() + " files fetched)");
    return this;
  }

  /**
   * The judge of a loop that labels its own samples: its AI judge (any algorithm), and for online DPO
   * also the gold scorer (quickstart) or the reward model.
   */
  private FeedbackCollector.LoopJudge judgeOf(LoopConfig loop) {
    if (!loop.algorithm().pairwise() && loop.feedback() != Feedback.AI_JUDGE) {
      return null;
    }
    long seed = LoopSeeds.of(config.seed(), loop.name());
    return switch (loop.feedback()) {
      case AI_JUDGE -> FeedbackCollector.LoopJudge.of(Judge.create(loop.judge(), seed));
      case GOLD -> new FeedbackCollector.LoopJudge(Judge.create(new dev.troupe.actors.config.JudgeSettings(
          "simulated", "the quickstart task's gold scorer", 0.0, null, null, null, Duration.ofSeconds(1), 0, 1), seed),
          label -> label.toBuilder().setSource(FeedbackSource.FEEDBACK_SOURCE_GOLD).setRaterId("gold").build());
      case REWARD_MODEL -> FeedbackCollector.LoopJudge.of(new RewardModelJudge(
          rewardService.scorer(LoopCoordinator.CAMPAIGN_REWARD_MODEL)));
      case DATASET, HUMAN -> null;
    };
  }

  /** The judge, entering {@link #judgeGate} for every call, so that closing it waits for calls under way. */
  private Judge gated(Judge judge) {
    return new Judge() {
      @Override
      public String id() {
        return judge.id();
      }

      @Override
      public String rubricSha256() {
        return judge.rubricSha256();
      }

      @Override
      public java.util.List<dev.troupe.actors.judge.Verdict> judge(java.util.List<dev.troupe.protocol.Comparison> comparisons)
          throws dev.troupe.actors.judge.JudgeUnavailableException {
        try (UsageGate.Use use = judgeGate.enter()) {
          return judge.judge(comparisons);
        }
      }
    };
  }

  private Behavior<Command> onLoopReported(LoopReported m) {
    finished.put(m.status().getLoop(), m.status());
    latest.put(m.status().getLoop(), m.status());
    if (finished.size() == config.loops().size()) {
      phase = "done";
      // The guardian stays: the process that runs it stops the actor system once the summary is written.
      done.complete(new Outcome(Map.copyOf(finished), resources == null ? null : resources.rmAccuracy(), null));
    }
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus m) {
    m.replyTo().tell(status());
    return this;
  }

  /** Every loop's latest status (a loop reports each step it takes), in the campaign file's order. */
  private CampaignStatus status() {
    CampaignStatus.Builder status = CampaignStatus.newBuilder().setName(config.name()).setRunDir(runDir.toString())
        .setPhase(phase).setStartedMs(startedMs);
    for (String loop : config.loops().keySet()) {
      LoopStatus s = finished.containsKey(loop) ? finished.get(loop) : latest.get(loop);
      if (s != null) {
        status.addLoops(s);
      }
    }
    return status.build();
  }

  private Behavior<Command> onSteer(Steer m) {
    List<String> named = m.request().getLoopsList();
    List<String> unknown = named.stream().filter(n -> !config.loops().containsKey(n)).toList();
    if (!unknown.isEmpty()) {
      m.replyTo().tell(CampaignControlReply.newBuilder().setOk(false).setMessage("unknown loop" + (unknown.size() > 1
          ? "s " : " ") + unknown + " (the campaign's loops: " + config.loops().keySet() + ")").setStatus(status())
          .build());
      return this;
    }
    if (coordinators.isEmpty()) {
      m.replyTo().tell(CampaignControlReply.newBuilder().setOk(false).setMessage("the campaign is in its setup"
          + " (phase " + phase + "): its loops start when it ends; ask again then").setStatus(status()).build());
      return this;
    }
    List<CompletableFuture<LoopStatus>> answers = new ArrayList<>();
    String reason = m.request().getReason();
    for (Map.Entry<String, ActorRef<LoopCoordinator.Command>> e : coordinators.entrySet()) {
      if ((named.isEmpty() || named.contains(e.getKey())) && !finished.containsKey(e.getKey())) {
        answers.add(org.apache.pekko.actor.typed.javadsl.AskPattern.<LoopCoordinator.Command, LoopStatus>ask(
            e.getValue(), r -> new LoopCoordinator.Steer(m.control(), reason, r), Duration.ofSeconds(20),
            getContext().getSystem().scheduler()).toCompletableFuture());
      }
    }
    CompletableFuture<List<LoopStatus>> all = CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
        .thenApply(v -> answers.stream().map(CompletableFuture::join).toList());
    getContext().pipeToSelf(all, (statuses, error) -> new Steered(m, statuses, error));
    return this;
  }

  private Behavior<Command> onPostStop() {
    // Work the stopping actors left running (a generation, a judge's call) finishes before its tensors are freed.
    if (judgeGate.closeAndAwait(Duration.ofMinutes(2))) {
      judges.values().forEach(Judge::close);
    }
    if (policyService != null) {
      policyService.close();
    }
    if (rewardService != null) {
      rewardService.close();
    }
    if (resources != null) {
      try {
        resources.close();
      } catch (Exception e) {
        getContext().getLog().warn("closing the campaign's resources: {}", e.getMessage());
      }
    }
    if (!done.isDone()) {
      done.complete(new Outcome(Map.copyOf(finished), null, new IllegalStateException("the campaign stopped before"
          + " every loop finished (" + finished.keySet() + " of " + config.loops().keySet() + ")")));
    }
    return this;
  }
}

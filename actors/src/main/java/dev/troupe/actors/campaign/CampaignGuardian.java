package dev.troupe.actors.campaign;

import dev.troupe.actors.checkpoint.Checkpoints;
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
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.policy.PolicyService;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.protocol.CampaignStatus;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.LoopStatus;
import dev.troupe.protocol.wire.WireMessage;
import dev.troupe.reward.RewardService;
import dev.troupe.reward.RewardWorker;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
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

/**
 * The campaign: prepares the base, tokenizer, reward model and prompts (on the tensor dispatcher),
 * then starts the workers (one policy worker over the one base, a reward worker, the feedback
 * collector with each loop's judge) and one coordinator per loop, all at once; answers status; stops
 * when every loop has finished, completing {@code done} with every loop's final status.
 */
public final class CampaignGuardian extends AbstractBehavior<CampaignGuardian.Command> {
  public sealed interface Command {}

  public record GetStatus(org.apache.pekko.actor.typed.ActorRef<CampaignStatus> replyTo) implements Command, WireMessage {}

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
  private final Map<String, ActorRef<LoopCoordinator.Command>> coordinators = new LinkedHashMap<>();
  private final Map<String, Judge> judges = new LinkedHashMap<>();
  private CampaignSetup.Resources resources;
  private PolicyService policyService;
  private RewardService rewardService;
  private String phase = "setup";
  private final long startedMs = System.currentTimeMillis();

  public static Behavior<Command> create(CampaignConfig config, Path runDir, CampaignStore store,
      CampaignEvents events, Duration askTimeout, CompletableFuture<Outcome> done) {
    return Behaviors.setup(ctx -> new CampaignGuardian(ctx, config, runDir, store, events, askTimeout, done));
  }

  private CampaignGuardian(ActorContext<Command> ctx, CampaignConfig config, Path runDir, CampaignStore store,
      CampaignEvents events, Duration askTimeout, CompletableFuture<Outcome> done) {
    super(ctx);
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
    policyService = new PolicyService(resources.model(), resources.tokenizer(), "policy-0",
        store.campaignId() + "/", versionsKept);
    ActorRef<PolicyWorker.Command> policy = getContext().spawn(PolicyWorker.create(policyService), "policy-0");
    rewardService = new RewardService();
    if (resources.rewardModel() != null) {
      rewardService.serve(LoopCoordinator.CAMPAIGN_REWARD_MODEL, resources.scores());
    }
    for (LoopConfig loop : config.loops().values()) {
      if (LoopCoordinator.kindOf(loop) == LoopCoordinator.Kind.SCALAR_LEARNED) {
        serveLoopRewardModel(loop);
      }
    }
    ActorRef<RewardWorker.Command> reward = getContext().spawn(RewardWorker.create(rewardService), "reward-0");
    Map<String, FeedbackCollector.LoopJudge> loopJudges = new LinkedHashMap<>();
    for (LoopConfig loop : config.loops().values()) {
      FeedbackCollector.LoopJudge judge = judgeOf(loop);
      if (judge != null) {
        loopJudges.put(loop.name(), judge);
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
          loop.samplesPrompts() ? resources.prompts() : null, resources.gold(), events, askTimeout);
      coordinators.put(loop.name(), getContext().spawn(
          LoopCoordinator.create(context, policy, reward, feedback, reports), "loop-" + loop.name()));
    }
    return this;
  }

  /**
   * A scalar loop on judge, human or dataset labels scores with its own copy of the campaign's reward
   * model, which learns those labels step by step.
   */
  private void serveLoopRewardModel(LoopConfig loop) {
    RewardModel campaignModel = resources.rewardModel();
    if (campaignModel == null) {
      throw new IllegalStateException("loop " + loop.name() + " (" + loop.algorithm().configName() + " on "
          + loop.feedback().configName() + " labels) learns its rewards starting from the campaign's reward model,"
          + " and none is configured (troupe.campaign.reward-model.path)");
    }
    CausalLm model = resources.model();
    Adapter adapter = AdapterVersions.load(AdapterVersions.snapshot(campaignModel.adapter(), model, "reward-model", 0),
        model, LoopCoordinator.rewardModelOf(loop));
    RewardModel loopModel = new RewardModel(model, adapter, campaignModel.head().copy(model.manager()));
    rewardService.serveTrainable(LoopCoordinator.rewardModelOf(loop), loopModel,
        RewardTrainer.Config.of(RewardTrainer.Trainable.HEAD_AND_ADAPTER, Math.max(1, loop.batchSize()),
            LOOP_REWARD_MODEL_LR).withSeed(LoopSeeds.of(config.seed(), loop.name())), resources.normalize());
  }

  /**
   * A trained reward model fine-tuned on a fresh source's labels: a tenth of the quickstart reward model's
   * peak rate, so the few pairs of a step move it without undoing what it learned.
   */
  static final double LOOP_REWARD_MODEL_LR = 2e-4;

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
      case REWARD_MODEL -> FeedbackCollector.LoopJudge.of(new RewardModelJudge(resources.scores()));
      case DATASET, HUMAN -> null;
    };
  }

  private Behavior<Command> onLoopReported(LoopReported m) {
    finished.put(m.status().getLoop(), m.status());
    if (finished.size() == config.loops().size()) {
      phase = "done";
      done.complete(new Outcome(Map.copyOf(finished), resources == null ? null : resources.rmAccuracy(), null));
      return Behaviors.stopped();
    }
    return this;
  }

  private Behavior<Command> onGetStatus(GetStatus m) {
    CampaignStatus.Builder status = CampaignStatus.newBuilder().setName(config.name()).setRunDir(runDir.toString())
        .setPhase(phase).setStartedMs(startedMs);
    finished.values().forEach(status::addLoops);
    m.replyTo().tell(status.build());
    return this;
  }

  private Behavior<Command> onPostStop() {
    judges.values().forEach(Judge::close);
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

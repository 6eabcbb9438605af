package dev.troupe.actors.loop;

import dev.troupe.actors.config.Feedback;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.feedback.FeedbackCollector;
import dev.troupe.algorithms.experiment.GoldEvaluation;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.ConsumedPairs;
import dev.troupe.protocol.ConsumedPairsRequest;
import dev.troupe.protocol.RewardTrainRequest;
import dev.troupe.protocol.RewardTrainResult;
import dev.troupe.protocol.StepPairs;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.JudgeRequest;
import dev.troupe.protocol.LearnRequest;
import dev.troupe.protocol.LearnResult;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.LoopState;
import dev.troupe.protocol.LoopStatus;
import dev.troupe.protocol.MetricsReport;
import dev.troupe.protocol.PairsRequest;
import dev.troupe.protocol.PreferenceBatch;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Response;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.SamplingParams;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.protocol.TaskAck;
import dev.troupe.protocol.TokenLogProbs;
import dev.troupe.protocol.wire.WireMessage;
import dev.troupe.reward.RewardWorker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Drives one loop: pulls its prompts, asks a policy worker for rollouts (at most {@code max-in-flight}
 * batches ahead of the learner: back-pressure), has them scored or judged, feeds its {@link Learner}
 * strictly in step order, and serves each new adapter version before sampling with it. Batch k is
 * sampled with version max(0, k − max-in-flight), a function of k alone, so a loop's figures never
 * depend on how other loops' work interleaves. Every request that fails or times out is reissued
 * with back-off under the same request id (the same rollout ids); a judge that does not answer puts
 * the loop in WAITING while the other loops carry on.
 */
public final class LoopCoordinator extends AbstractBehavior<LoopCoordinator.Command> {
  public sealed interface Command {}

  public record GetStatus(ActorRef<LoopStatus> replyTo) implements Command, WireMessage {}

  private record LearnerAnswered(LearnResult result, Throwable error) implements Command {}

  private record AdapterServed(long version, Ack ack, Throwable error) implements Command {}

  private record Generated(long batch, int attempt, RolloutBatch result, Throwable error) implements Command {}

  private record Scored(long batch, int attempt, List<Rollout> rollouts, ScoreBatch result, Throwable error)
      implements Command {}

  private record Judged(long batch, int attempt, JudgeRequest request, PreferenceBatch result, Throwable error)
      implements Command {}

  private record PairsFetched(long batch, PreferenceBatch result, Throwable error) implements Command {}

  private record RaterSamples(long version, RolloutBatch result, Throwable error) implements Command {}

  private record RatersQueued(long version, TaskAck ack, Throwable error) implements Command {}

  private record EvalSampled(EvalPoint point, long version, RolloutBatch result, Throwable error) implements Command {}

  private record EvalReferenced(EvalPoint point, long version, List<Rollout> samples, LogProbsBatch result, Throwable error)
      implements Command {}

  private record EvaluationStored(EvalPoint point, Throwable error) implements Command {}

  private record RewardsLearned(long batch, List<PreferencePair> pairs, RewardTrainResult result, Throwable error)
      implements Command {}

  private record Replay(List<StepPairs> remaining, String error) implements Command {}

  /** When a gold evaluation is taken: before the first step, every eval-every steps, after the last. */
  enum EvalPoint { START, MID, END }

  /** Do {@code action} again, after a back-off. */
  private record Retry(String what, Runnable action) implements Command {}

  /** What CampaignService asks of a loop. */
  public enum Control { PAUSE, RESUME, STOP }

  /** Pauses, resumes or stops the loop; answered with its status once the request took effect (a stop: at once). */
  public record Steer(Control control, String reason, ActorRef<LoopStatus> replyTo) implements Command {}

  private record StopCheckpointed(Ack ack, Throwable error) implements Command {}

  /** How a loop gets what its learner reads. */
  public enum Kind {
    /** ppo, grpo, rloo: sampled rollouts scored by the campaign's reward model or the gold scorer. */
    SCALAR,
    /**
     * ppo, grpo, rloo on a judge's, raters' or a dataset's labels: the loop's own reward model learns
     * each step's labels (judged pairs of the step's samples, or stored pairs), then scores the rollouts.
     */
    SCALAR_LEARNED,
    /** the DPO family on two fresh samples per prompt labelled by a judge, the reward model or gold. */
    ONLINE_PAIRS,
    /** the DPO family on stored labelled pairs (a dataset, raters). */
    STORED_PAIRS
  }

  private static final Duration LEARN_TIMEOUT = Duration.ofHours(2);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  private static final Duration HUMAN_POLL = Duration.ofSeconds(2);
  /** A loop on human feedback samples its version again for raters after a failure this much later. */
  private static final Duration RATER_SAMPLES_RETRY = Duration.ofSeconds(10);

  private final LoopContext context;
  private final LoopConfig loop;
  private final Kind kind;
  private final ActorRef<PolicyWorker.Command> policy;
  private final ActorRef<RewardWorker.Command> reward;
  private final ActorRef<FeedbackCollector.Command> feedback;
  private final ActorRef<LoopStatus> reportTo;
  private final ActorRef<Learner.Command> learner;
  private final TimerScheduler<Command> timers;

  private LoopState state = LoopState.LOOP_STATE_STARTING;
  private String message = "";
  private long step;
  private long published = -1;
  private long nextBatch;
  private boolean learnerBusy;
  private boolean pairsPending;
  private final Set<Long> requested = new HashSet<>();
  private final Map<Long, List<Rollout>> readyRollouts = new HashMap<>();
  private final Map<Long, List<PreferencePair>> readyPairs = new HashMap<>();
  /** SCALAR_LEARNED: a batch's samples waiting for their turn to be labelled and scored. */
  private final Map<Long, List<Rollout>> sampled = new HashMap<>();
  /** SCALAR_LEARNED: the labels the loop's reward model learned before scoring a batch. */
  private final Map<Long, List<String>> rewardLabels = new HashMap<>();
  private long labelling;
  /** A gold evaluation of the current version is under way: nothing new is requested meanwhile. */
  private boolean evaluating;
  private Map<String, Double> lastMetrics = Map.of();
  private Long resumedFrom;
  private Double goldStart;
  private Double goldEnd;
  private Double kl;
  private int waitingStreak;
  private long stepStartedMs;
  private long stepEndedMs;
  /** Versions to serve, in order (the head is being served). */
  private final java.util.ArrayDeque<AdapterVersion> toServe = new java.util.ArrayDeque<>();
  private boolean paused;
  private boolean stopping;
  private boolean stopCheckpointing;
  private String pauseReason = "";
  /** feedback = human: the newest adapter version whose samples went to the raters' queue (-1: none yet). */
  private long queuedForRaters = -1;
  private boolean samplingForRaters;

  public static Behavior<Command> create(LoopContext context, ActorRef<PolicyWorker.Command> policy,
      ActorRef<RewardWorker.Command> reward, ActorRef<FeedbackCollector.Command> feedback,
      ActorRef<LoopStatus> reportTo) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new LoopCoordinator(ctx, timers, context, policy, reward, feedback, reportTo)));
  }

  private LoopCoordinator(ActorContext<Command> ctx, TimerScheduler<Command> timers, LoopContext context,
      ActorRef<PolicyWorker.Command> policy, ActorRef<RewardWorker.Command> reward,
      ActorRef<FeedbackCollector.Command> feedback, ActorRef<LoopStatus> reportTo) {
    super(ctx);
    this.timers = timers;
    this.context = context;
    this.loop = context.loop();
    this.kind = kindOf(loop);
    this.policy = policy;
    this.reward = reward;
    this.feedback = feedback;
    this.reportTo = reportTo;
    this.learner = ctx.spawn(Learner.create(context), "learner",
        DispatcherSelector.fromConfig("troupe.tensor-dispatcher"));
    ctx.ask(LearnResult.class, learner, LEARN_TIMEOUT, Learner.Initial::new, LearnerAnswered::new);
  }

  public static Kind kindOf(LoopConfig loop) {
    if (!loop.algorithm().pairwise()) {
      return loop.feedback() == Feedback.REWARD_MODEL || loop.feedback() == Feedback.GOLD ? Kind.SCALAR
          : Kind.SCALAR_LEARNED;
    }
    return loop.feedback() == Feedback.DATASET || loop.feedback() == Feedback.HUMAN ? Kind.STORED_PAIRS
        : Kind.ONLINE_PAIRS;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(GetStatus.class, m -> {
          m.replyTo().tell(status());
          return this;
        })
        .onMessage(LearnerAnswered.class, this::onLearnerAnswered)
        .onMessage(AdapterServed.class, this::onAdapterServed)
        .onMessage(Generated.class, this::onGenerated)
        .onMessage(Scored.class, this::onScored)
        .onMessage(Judged.class, this::onJudged)
        .onMessage(RaterSamples.class, this::onRaterSamples)
        .onMessage(RatersQueued.class, this::onRatersQueued)
        .onMessage(PairsFetched.class, this::onPairsFetched)
        .onMessage(EvalSampled.class, this::onEvalSampled)
        .onMessage(EvalReferenced.class, this::onEvalReferenced)
        .onMessage(EvaluationStored.class, this::onEvaluationStored)
        .onMessage(RewardsLearned.class, this::onRewardsLearned)
        .onMessage(Replay.class, this::onReplay)
        .onMessage(Retry.class, m -> {
          m.action().run();
          return this;
        })
        .onMessage(Steer.class, this::onSteer)
        .onMessage(StopCheckpointed.class, this::onStopCheckpointed)
        .build();
  }

  // ---- the learner and adapter versions --------------------------------------------------------

  private Behavior<Command> onLearnerAnswered(LearnerAnswered m) {
    if (m.error() != null || !m.result().getError().isEmpty()) {
      return fail("learner: " + (m.error() != null ? m.error().getMessage() : m.result().getError()));
    }
    LearnResult result = m.result();
    if (state == LoopState.LOOP_STATE_STARTING) { // the first answer: where the loop stands
      step = result.getStep();
      nextBatch = step + 1;
      if (result.hasResumedFromStep()) {
        resumedFrom = result.getResumedFromStep();
      }
      goldStart = result.getMetricsMap().get(GOLD_START);
      context.events().loopStarted(status());
    } else {
      learnerBusy = false;
      step = result.getStep();
      readyRollouts.remove(step);
      readyPairs.remove(step);
      sampled.remove(step);
      rewardLabels.remove(step);
      lastMetrics = result.getMetricsMap();
      stepStartedMs = result.getStartedMs();
      stepEndedMs = result.getEndedMs();
      waitingStreak = 0;
      context.events().loopStep(status());
    }
    serve(result);
    return this;
  }

  /**
   * The new version goes to the policy worker before any batch that needs it is requested; a resumed
   * loop first serves the older versions its checkpoint kept, oldest first, one at a time.
   */
  private void serve(LearnResult result) {
    toServe.addAll(result.getPreviousAdaptersList());
    toServe.add(result.getAdapter());
    serveNext();
  }

  private void serveNext() {
    AdapterVersion next = toServe.peekFirst();
    getContext().ask(Ack.class, policy, context.askTimeout(), replyTo -> new PolicyWorker.LoadAdapter(next, replyTo),
        (ack, error) -> new AdapterServed(next.getVersion(), ack, error));
  }

  private Behavior<Command> onAdapterServed(AdapterServed m) {
    if (m.error() != null || !m.ack().getOk()) {
      String why = m.error() != null ? m.error().getMessage() : m.ack().getError();
      retryLater(0, "serving adapter version " + m.version() + ": " + why, this::serveNext);
      return this;
    }
    toServe.removeFirst();
    if (!toServe.isEmpty()) {
      serveNext();
      return this;
    }
    published = m.version();
    if (state != LoopState.LOOP_STATE_STARTING && stepEndedMs > 0) {
      context.events().adapterPublished(loop.name(), published, System.currentTimeMillis() - stepEndedMs);
    }
    if (state != LoopState.LOOP_STATE_STARTING && context.gold() != null && loop.evalEvery() > 0
        && step % loop.evalEvery() == 0 && step > 0 && step < loop.steps()) {
      evaluating = true; // the pipeline waits: the evaluation samples exactly this version
      evaluate(EvalPoint.MID, published);
      return this;
    }
    if (state == LoopState.LOOP_STATE_STARTING) {
      if (kind == Kind.SCALAR_LEARNED && step > 0) {
        replayRewardModel();
      } else {
        afterServed();
      }
      return this;
    }
    pump();
    return this;
  }

  /** The first version is served (and a resumed loop's reward model rebuilt): evaluate, then run. */
  private void afterServed() {
    if (context.gold() != null && goldStart == null) {
      evaluate(EvalPoint.START, published);
      return;
    }
    state = LoopState.LOOP_STATE_RUNNING;
    pump();
  }

  // ---- the pipeline ------------------------------------------------------------------------------

  /** Requests what may be requested now and hands the learner its next batch when it is ready. */
  private void pump() {
    if (state != LoopState.LOOP_STATE_RUNNING && state != LoopState.LOOP_STATE_WAITING || evaluating) {
      return;
    }
    if (paused) {
      stopWhenSettled();
      return;
    }
    if (step == loop.steps()) {
      if (context.gold() != null) {
        state = LoopState.LOOP_STATE_RUNNING;
        evaluate(EvalPoint.END, published);
      } else {
        finish();
      }
      return;
    }
    if (loop.feedback() == Feedback.HUMAN) {
      sampleForRaters();
    }
    if (kind == Kind.STORED_PAIRS) {
      if (!learnerBusy && !pairsPending && !readyPairs.containsKey(step + 1)) {
        fetchPairs(step + 1);
      }
    } else {
      while (nextBatch <= Math.min(loop.steps(), step + loop.maxInFlight()) && requiredVersion(nextBatch) <= published) {
        requested.add(nextBatch);
        generate(nextBatch, 0);
        nextBatch++;
      }
    }
    long next = step + 1;
    if (kind == Kind.SCALAR_LEARNED && !learnerBusy && labelling != next && sampled.containsKey(next)
        && !readyRollouts.containsKey(next)) {
      labelling = next;
      if (loop.feedback() == Feedback.AI_JUDGE) {
        judge(next, 0, comparisons(next, 0, sampled.get(next)));
      } else {
        fetchPairs(next);
      }
    }
    if (!learnerBusy && (readyRollouts.containsKey(next) || readyPairs.containsKey(next))) {
      learnerBusy = true;
      LearnRequest.Builder request = LearnRequest.newBuilder().setLoop(loop.name()).setStep(next);
      if (readyRollouts.containsKey(next)) {
        request.addAllRollouts(readyRollouts.get(next));
        request.addAllRewardLabelIds(rewardLabels.getOrDefault(next, List.of()));
      } else {
        request.addAllPairs(readyPairs.get(next));
      }
      LearnRequest built = request.build();
      getContext().ask(LearnResult.class, learner, LEARN_TIMEOUT, replyTo -> new Learner.Learn(built, replyTo),
          LearnerAnswered::new);
    }
  }

  /** Batch k is sampled with the version of k − max-in-flight steps: a function of k alone. */
  private long requiredVersion(long batch) {
    return Math.max(0, batch - loop.maxInFlight());
  }

  private int samplesPerPrompt() {
    boolean ppo = loop.algorithm() == dev.troupe.actors.config.Algorithm.PPO;
    return switch (kind) {
      case ONLINE_PAIRS -> 2;
      case SCALAR -> ppo ? 1 : loop.grpo().groupSize();
      // A judge compares two samples of a prompt: PPO samples each prompt twice (and learns from both).
      case SCALAR_LEARNED -> ppo ? (loop.feedback() == Feedback.AI_JUDGE ? 2 : 1) : loop.grpo().groupSize();
      case STORED_PAIRS -> 0;
    };
  }

  /** Prompts per batch: batch-size, except PPO sampling twice per prompt for a judge (batch-size rollouts). */
  private int promptsPerBatch() {
    boolean ppoPairs = loop.algorithm() == dev.troupe.actors.config.Algorithm.PPO && samplesPerPrompt() == 2;
    return ppoPairs ? Math.max(1, loop.batchSize() / 2) : loop.batchSize();
  }

  private SamplingParams sampling(long seed) {
    return SamplingParams.newBuilder().setMaxNewTokens(loop.generation().maxNewTokens())
        .setTemperature(loop.generation().temperature()).setTopK(loop.generation().topK())
        .setTopP(loop.generation().topP()).setSeed(seed).build();
  }

  /** Attempt 0 is the batch itself; a later attempt (every pair of it was a tie) samples it again with a new seed. */
  private void generate(long batch, int attempt) {
    GenerateRequest request = GenerateRequest.newBuilder()
        .setRequestId(loop.name() + "/batch-" + batch + (attempt > 0 ? "-refill-" + attempt : ""))
        .setAdapter(loop.name()).setAdapterVersion(requiredVersion(batch))
        .addAllPrompts(context.prompts().batch(loop.name(), batch, promptsPerBatch()))
        .setSamplesPerPrompt(samplesPerPrompt())
        .setSampling(sampling(LoopSeeds.batch(context.campaign().seed(), loop.name(), batch, attempt)))
        .build();
    getContext().ask(RolloutBatch.class, policy, context.askTimeout(),
        replyTo -> new PolicyWorker.Generate(request, replyTo),
        (result, error) -> new Generated(batch, attempt, result, error));
  }

  private Behavior<Command> onGenerated(Generated m) {
    String error = m.error() != null ? "policy worker: " + m.error().getMessage()
        : m.result().getError().isEmpty() ? null : "policy worker: " + m.result().getError();
    if (error != null) {
      retryLater(m.attempt(), "sampling batch " + m.batch() + ": " + error, () -> generate(m.batch(), m.attempt()));
      return this;
    }
    List<Rollout> rollouts = m.result().getRolloutsList();
    switch (kind) {
      case SCALAR -> score(m.batch(), m.attempt(), rollouts);
      case SCALAR_LEARNED -> {
        sampled.put(m.batch(), rollouts); // labelled, learned and scored in step order (see pump)
        pump();
      }
      default -> judge(m.batch(), m.attempt(), comparisons(m.batch(), m.attempt(), rollouts));
    }
    return this;
  }

  private void score(long batch, int attempt, List<Rollout> rollouts) {
    if (loop.feedback() == Feedback.GOLD) {
      GoldScorer gold = new GoldScorer();
      double[] scores = new double[rollouts.size()];
      for (int i = 0; i < scores.length; i++) {
        Rollout r = rollouts.get(i);
        scores[i] = gold.score(context.gold().trainPrompt(r.getPrompt().getId()), r.getText());
      }
      readyRollouts.put(batch, Rollouts.withScores(rollouts, scores));
      requested.remove(batch);
      pump();
      return;
    }
    ScoreRequest request = ScoreRequest.newBuilder().setRequestId(loop.name() + "/score-" + batch)
        .setRewardModel(rewardModelOf(loop)).addAllRollouts(rollouts).build();
    getContext().ask(ScoreBatch.class, reward, context.askTimeout(), replyTo -> new RewardWorker.Score(request, replyTo),
        (result, error) -> new Scored(batch, attempt, rollouts, result, error));
  }

  private Behavior<Command> onScored(Scored m) {
    String error = m.error() != null ? "reward worker: " + m.error().getMessage()
        : m.result().getError().isEmpty() ? null : "reward worker: " + m.result().getError();
    if (error != null) {
      retryLater(m.attempt(), "scoring batch " + m.batch() + ": " + error, () -> score(m.batch(), m.attempt() + 1,
          m.rollouts()));
      return this;
    }
    double[] scores = new double[m.rollouts().size()];
    for (int i = 0; i < scores.length; i++) {
      scores[i] = m.result().getScores(i).getValue();
    }
    readyRollouts.put(m.batch(), Rollouts.withScores(m.rollouts(), scores));
    requested.remove(m.batch());
    pump();
    return this;
  }

  /**
   * The loop's reward model takes a step on the batch's labelled pairs (in label-id order, as a resume
   * replays them), then scores the batch; no pairs: it scores as it is.
   */
  private void learnRewards(long batch, List<PreferencePair> pairs) {
    List<PreferencePair> ordered = new ArrayList<>(pairs);
    ordered.sort(java.util.Comparator.comparing(PreferencePair::getId));
    rewardLabels.put(batch, ordered.stream().map(PreferencePair::getId).toList());
    if (ordered.isEmpty()) {
      score(batch, 0, sampled.get(batch));
      return;
    }
    RewardTrainRequest request = RewardTrainRequest.newBuilder().setRequestId(loop.name() + "/rm-" + batch)
        .setRewardModel(rewardModelOf(loop)).addAllPairs(ordered).build();
    getContext().ask(RewardTrainResult.class, reward, context.askTimeout(),
        replyTo -> new RewardWorker.Train(request, replyTo),
        (result, error) -> new RewardsLearned(batch, pairs, result, error));
  }

  private Behavior<Command> onRewardsLearned(RewardsLearned m) {
    String error = m.error() != null ? m.error().getMessage() : m.result().getError().isEmpty() ? null
        : m.result().getError();
    if (error != null) {
      retryLater(waitingStreak, "training the loop's reward model on batch " + m.batch() + ": " + error,
          () -> learnRewards(m.batch(), m.pairs()));
      return this;
    }
    score(m.batch(), 0, sampled.get(m.batch()));
    return this;
  }

  /**
   * A resumed SCALAR_LEARNED loop rebuilds its reward model as it was at the checkpoint: the labels the
   * ledger says each step consumed, learned again in the same order (training is deterministic).
   */
  private void replayRewardModel() {
    ConsumedPairsRequest request = ConsumedPairsRequest.newBuilder().setLoop(loop.name()).setToStep(step).build();
    getContext().ask(ConsumedPairs.class, feedback, context.askTimeout(),
        replyTo -> new FeedbackCollector.PairsConsumed(request, replyTo),
        (result, error) -> new Replay(result == null ? null : new ArrayList<>(result.getStepsList()),
            error != null ? error.getMessage() : result.getError().isEmpty() ? null : result.getError()));
  }

  private Behavior<Command> onReplay(Replay m) {
    if (m.error() != null) {
      return fail("rebuilding the loop's reward model from the ledger: " + m.error());
    }
    if (m.remaining().isEmpty()) {
      afterServed();
      return this;
    }
    StepPairs next = m.remaining().remove(0);
    List<PreferencePair> ordered = new ArrayList<>(next.getPairsList());
    ordered.sort(java.util.Comparator.comparing(PreferencePair::getId));
    RewardTrainRequest request = RewardTrainRequest.newBuilder().setRequestId(loop.name() + "/rm-replay-" + next.getStep())
        .setRewardModel(rewardModelOf(loop)).addAllPairs(ordered).build();
    getContext().ask(RewardTrainResult.class, reward, context.askTimeout(),
        replyTo -> new RewardWorker.Train(request, replyTo),
        (result, error) -> new Replay(m.remaining(), error != null ? error.getMessage()
            : result.getError().isEmpty() ? null : result.getError()));
    return this;
  }

  /**
   * Consecutive samples of one prompt, two by two, as comparisons whose responses keep their rollouts'
   * ids and versions (a group of 4 gives two comparisons; an odd one out is left unjudged).
   */
  private JudgeRequest comparisons(long batch, int attempt, List<Rollout> rollouts) {
    return comparisons("batch-" + batch + (attempt > 0 ? "-refill-" + attempt : ""), rollouts);
  }

  /** The comparisons "loop/{@code name}/index" of consecutive samples of a prompt. */
  private JudgeRequest comparisons(String name, List<Rollout> rollouts) {
    JudgeRequest.Builder request = JudgeRequest.newBuilder().setLoop(loop.name());
    int index = 0;
    for (int i = 0; i + 1 < rollouts.size(); ) {
      Rollout a = rollouts.get(i);
      Rollout b = rollouts.get(i + 1);
      if (!a.getGroupId().equals(b.getGroupId())) {
        i++;
        continue;
      }
      request.addComparisons(Comparison.newBuilder()
          .setId(loop.name() + "/" + name + "/" + index++)
          .setPrompt(a.getPrompt()).addResponses(response(a)).addResponses(response(b)));
      i += 2;
    }
    return request.build();
  }

  /** The comparisons "loop/{@code name}/index": each prompt's samples (a group) together, in order. */
  private JudgeRequest groupComparisons(String name, List<Rollout> rollouts) {
    JudgeRequest.Builder request = JudgeRequest.newBuilder().setLoop(loop.name());
    Map<String, Comparison.Builder> groups = new java.util.LinkedHashMap<>();
    for (Rollout r : rollouts) {
      groups.computeIfAbsent(r.getGroupId(), g -> Comparison.newBuilder().setId(loop.name() + "/" + name + "/"
          + groups.size()).setPrompt(r.getPrompt())).addResponses(response(r));
    }
    groups.values().stream().filter(c -> c.getResponsesCount() >= 2).forEach(request::addComparisons);
    return request.build();
  }

  private static Response response(Rollout r) {
    return Response.newBuilder().setId(r.getId()).addAllTokenIds(r.getResponseTokenIdsList()).setText(r.getText())
        .setAdapter(r.getAdapter()).setAdapterVersion(r.getAdapterVersion()).build();
  }

  private void judge(long batch, int attempt, JudgeRequest request) {
    getContext().ask(PreferenceBatch.class, feedback, context.askTimeout(),
        replyTo -> new FeedbackCollector.JudgePairs(request, replyTo),
        (result, error) -> new Judged(batch, attempt, request, result, error));
  }

  private Behavior<Command> onJudged(Judged m) {
    String error = m.error() != null ? "feedback collector: " + m.error().getMessage()
        : m.result().getError().isEmpty() ? null : "judge: " + m.result().getError();
    if (error != null) {
      retryLater(waitingStreak, "labelling batch " + m.batch() + ": " + error,
          () -> judge(m.batch(), m.attempt(), m.request()));
      return this;
    }
    if (kind == Kind.SCALAR_LEARNED) {
      recovered();
      learnRewards(m.batch(), m.result().getPairsList());
      return this;
    }
    if (m.result().getPairsCount() == 0) { // every comparison a tie: sample the batch again
      generate(m.batch(), m.attempt() + 1);
      return this;
    }
    readyPairs.put(m.batch(), m.result().getPairsList());
    requested.remove(m.batch());
    recovered();
    pump();
    return this;
  }

  /**
   * feedback = human: raters label comparisons of the loop's current adapter. Each version the loop
   * publishes is sampled once, feedback-queue.responses responses per prompt on a batch's prompts, and
   * the comparisons go to the raters' queue (pairwise tasks, or ranking tasks beyond two responses),
   * where versions older than max-staleness retire. The loop learns from what raters label, as the
   * stored pairs' path reads them.
   */
  private void sampleForRaters() {
    if (samplingForRaters || queuedForRaters >= published || published < 0) {
      return;
    }
    samplingForRaters = true;
    long version = published;
    GenerateRequest request = GenerateRequest.newBuilder()
        .setRequestId(loop.name() + "/raters-v" + version)
        .setAdapter(loop.name()).setAdapterVersion(version)
        .addAllPrompts(context.prompts().batch(loop.name(), version + 1, loop.batchSize()))
        .setSamplesPerPrompt(context.campaign().feedbackQueue().responses())
        .setSampling(sampling(LoopSeeds.batch(context.campaign().seed(), loop.name() + "/raters", version, 0)))
        .build();
    getContext().ask(RolloutBatch.class, policy, context.askTimeout(),
        replyTo -> new PolicyWorker.Generate(request, replyTo),
        (result, error) -> new RaterSamples(version, result, error));
  }

  private Behavior<Command> onRaterSamples(RaterSamples m) {
    String error = m.error() != null ? m.error().getMessage() : m.result().getError().isEmpty() ? null
        : m.result().getError();
    if (error != null) {
      return raterSamplesFailed("sampling version " + m.version() + " for raters: policy worker: " + error);
    }
    JudgeRequest request = groupComparisons("raters-v" + m.version(), m.result().getRolloutsList());
    getContext().ask(TaskAck.class, feedback, context.askTimeout(),
        replyTo -> new FeedbackCollector.QueueForRaters(request, replyTo),
        (ack, failure) -> new RatersQueued(m.version(), ack, failure));
    return this;
  }

  private Behavior<Command> onRatersQueued(RatersQueued m) {
    if (m.error() != null || !m.ack().getOk()) {
      return raterSamplesFailed("queueing version " + m.version() + " for raters: "
          + (m.error() != null ? m.error().getMessage() : m.ack().getError()));
    }
    samplingForRaters = false;
    queuedForRaters = Math.max(queuedForRaters, m.version());
    getContext().getLog().info("loop {}: comparisons of adapter version {} queued for raters", loop.name(), m.version());
    pump(); // a newer version may have been published meanwhile
    return this;
  }

  /** The loop goes on (it waits for labels either way); the version is sampled again a little later. */
  private Behavior<Command> raterSamplesFailed(String why) {
    getContext().getLog().warn("loop {}: {}; trying again in {} s", loop.name(), why, RATER_SAMPLES_RETRY.toSeconds());
    timers.startSingleTimer(new Retry(why, () -> {
      samplingForRaters = false;
      pump();
    }), RATER_SAMPLES_RETRY);
    return this;
  }

  private void fetchPairs(long batch) {
    pairsPending = true;
    PairsRequest.Builder request = PairsRequest.newBuilder().setLoop(loop.name()).setLimit(loop.batchSize());
    request.addSources(FeedbackSource.FEEDBACK_SOURCE_HUMAN);
    if (loop.feedback() == Feedback.DATASET) {
      request.addSources(FeedbackSource.FEEDBACK_SOURCE_DATASET);
    }
    PairsRequest built = request.build();
    getContext().ask(PreferenceBatch.class, feedback, context.askTimeout(),
        replyTo -> new FeedbackCollector.NextPairs(built, replyTo),
        (result, error) -> new PairsFetched(batch, result, error));
  }

  private Behavior<Command> onPairsFetched(PairsFetched m) {
    pairsPending = false;
    String error = m.error() != null ? m.error().getMessage() : m.result().getError().isEmpty() ? null
        : m.result().getError();
    if (error != null) {
      retryLater(waitingStreak, "reading stored pairs: " + error, () -> fetchPairs(m.batch()));
      return this;
    }
    if (kind == Kind.SCALAR_LEARNED) {
      recovered();
      learnRewards(m.batch(), m.result().getPairsList()); // none yet is fine: the reward model stays as it is
      return this;
    }
    if (m.result().getPairsCount() == 0) {
      if (loop.feedback() == Feedback.DATASET) {
        return fail("the dataset has no unconsumed pair left for step " + m.batch() + " of " + loop.steps()
            + " (each pair is used at most once per loop)");
      }
      state = LoopState.LOOP_STATE_WAITING;
      message = "waiting for human labels";
      timers.startSingleTimer(new Retry("human labels", () -> fetchPairs(m.batch())), HUMAN_POLL);
      pairsPending = true;
      return this;
    }
    readyPairs.put(m.batch(), m.result().getPairsList());
    recovered();
    pump();
    return this;
  }

  // ---- gold evaluations ------------------------------------------------------------------------

  /** Samples of the adapter at {@code version} on the held-out prompts, then the reference's log-probs of them. */
  private void evaluate(EvalPoint point, long version) {
    QuickstartGold gold = context.gold();
    GenerateRequest request = GoldEvaluation.request(loop.name() + "/eval-" + version, loop.name(), version,
        gold.heldOut(), gold.task(), gold.codec(), gold.sampling());
    getContext().ask(RolloutBatch.class, policy, context.askTimeout(),
        replyTo -> new PolicyWorker.Generate(request, replyTo),
        (result, error) -> new EvalSampled(point, version, result, error));
  }

  private Behavior<Command> onEvalSampled(EvalSampled m) {
    String error = m.error() != null ? m.error().getMessage() : m.result().getError().isEmpty() ? null
        : m.result().getError();
    if (error != null) {
      retryLater(0, "gold evaluation: " + error, () -> evaluate(m.point(), m.version()));
      return this;
    }
    List<Rollout> samples = m.result().getRolloutsList();
    LogProbsRequest request = LogProbsRequest.newBuilder().setRequestId(m.result().getRequestId() + "/reference")
        .setTemperature(1.0).addAllRollouts(samples).build();
    getContext().ask(LogProbsBatch.class, policy, context.askTimeout(),
        replyTo -> new PolicyWorker.ScoreLogProbs(request, replyTo),
        (result, e) -> new EvalReferenced(m.point(), m.version(), samples, result, e));
    return this;
  }

  /**
   * Gold and KL of the samples, stored with the step they evaluate ({@code eval/gold}, {@code eval/kl},
   * {@code eval/gold/<kind>}; the first and last also as {@code eval/gold_start} and {@code eval/gold_end}):
   * the points of a gold-versus-KL curve.
   */
  private Behavior<Command> onEvalReferenced(EvalReferenced m) {
    String error = m.error() != null ? m.error().getMessage() : m.result().getError().isEmpty() ? null
        : m.result().getError();
    if (error != null) {
      retryLater(0, "gold evaluation: " + error, () -> evaluate(m.point(), m.version()));
      return this;
    }
    List<float[]> reference = new ArrayList<>();
    for (TokenLogProbs row : m.result().getRowsList()) {
      float[] lp = new float[row.getLogprobsCount()];
      for (int i = 0; i < lp.length; i++) {
        lp[i] = row.getLogprobs(i);
      }
      reference.add(lp);
    }
    GoldEvaluation.Result result = GoldEvaluation.score(context.gold().heldOut(), m.samples(), reference);
    MetricsReport.Builder report = MetricsReport.newBuilder().setLoop(loop.name()).setStep(m.version())
        .setTimeMs(System.currentTimeMillis()).putValues(GOLD, result.gold()).putValues(KL, result.kl());
    result.goldByKind().forEach((kind, value) -> report.putValues(GOLD + "/" + kind, value));
    switch (m.point()) {
      case START -> {
        goldStart = result.gold();
        report.putValues(GOLD_START, result.gold());
      }
      case END -> {
        goldEnd = result.gold();
        kl = result.kl();
        report.putValues(GOLD_END, result.gold());
      }
      case MID -> { }
    }
    MetricsReport built = report.build();
    getContext().ask(Ack.class, learner, LEARN_TIMEOUT, replyTo -> new Learner.RecordEvaluation(built, replyTo),
        (ack, failure) -> new EvaluationStored(m.point(), failure));
    return this;
  }

  /** The loop goes on (or ends) only once its evaluation is stored: stopping the learner first would lose it. */
  private Behavior<Command> onEvaluationStored(EvaluationStored m) {
    if (m.error() != null) {
      return fail("storing the gold evaluation: " + m.error().getMessage());
    }
    switch (m.point()) {
      case START, MID -> {
        state = LoopState.LOOP_STATE_RUNNING;
        evaluating = false;
        pump();
      }
      case END -> finish();
    }
    return this;
  }

  /** The campaign's reward model, as the reward worker serves it. */
  public static final String CAMPAIGN_REWARD_MODEL = "reward-model";

  /** The reward model a loop scores with: its own for {@link Kind#SCALAR_LEARNED}, else the campaign's. */
  public static String rewardModelOf(LoopConfig loop) {
    return kindOf(loop) == Kind.SCALAR_LEARNED ? loop.name() + "/reward-model" : CAMPAIGN_REWARD_MODEL;
  }

  static final String GOLD = "eval/gold";
  static final String GOLD_START = "eval/gold_start";
  static final String GOLD_END = "eval/gold_end";
  static final String KL = "eval/kl";

  // ---- pause, resume, stop ----------------------------------------------------------------------

  private Behavior<Command> onSteer(Steer m) {
    boolean over = state == LoopState.LOOP_STATE_DONE || state == LoopState.LOOP_STATE_FAILED
        || state == LoopState.LOOP_STATE_STOPPED;
    if (!over) {
      switch (m.control()) {
        case PAUSE -> {
          paused = true;
          pauseReason = m.reason();
          getContext().getLog().info("loop {} paused: {}", loop.name(), m.reason());
        }
        case RESUME -> {
          if (!stopping && paused) {
            paused = false;
            getContext().getLog().info("loop {} resumed: {}", loop.name(), m.reason());
            pump();
          }
        }
        case STOP -> {
          paused = true;
          stopping = true;
          pauseReason = m.reason();
          getContext().getLog().info("loop {} stopping: {}", loop.name(), m.reason());
          stopWhenSettled();
        }
      }
    }
    m.replyTo().tell(status());
    return this;
  }

  /**
   * A stopping loop ends once nothing that changes its adapter is under way (a step, a version being
   * served, an evaluation), after a checkpoint of its last step: running the campaign again resumes it there.
   */
  private void stopWhenSettled() {
    if (!stopping || stopCheckpointing || learnerBusy || evaluating || !toServe.isEmpty()
        || state == LoopState.LOOP_STATE_STARTING) {
      return;
    }
    stopCheckpointing = true;
    getContext().ask(Ack.class, learner, LEARN_TIMEOUT, Learner.CheckpointNow::new, StopCheckpointed::new);
  }

  private Behavior<Command> onStopCheckpointed(StopCheckpointed m) {
    if (m.error() != null || !m.ack().getOk()) {
      return fail("checkpointing before the stop: " + (m.error() != null ? m.error().getMessage() : m.ack().getError()));
    }
    state = LoopState.LOOP_STATE_STOPPED;
    message = "stopped at step " + step + (pauseReason.isEmpty() ? "" : ": " + pauseReason);
    LoopStatus status = status();
    context.events().loopFinished(status);
    reportTo.tell(status);
    getContext().stop(learner);
    return this;
  }

  // ---- waiting, failing, finishing -------------------------------------------------------------

  /** Tries {@code action} again after 0.5 s · 2^attempt (at most 30 s); the loop says why it waits. */
  private void retryLater(int attempt, String why, Runnable action) {
    waitingStreak++;
    state = state == LoopState.LOOP_STATE_STARTING ? state : LoopState.LOOP_STATE_WAITING;
    message = why;
    Duration delay = Duration.ofMillis((long) Math.min(MAX_BACKOFF.toMillis(), 500 * Math.pow(2, Math.min(attempt, 10))));
    if (waitingStreak == 1 || waitingStreak % 20 == 0) {
      getContext().getLog().warn("loop {}: {}; trying again in {} ms (attempt {})", loop.name(), why, delay.toMillis(),
          waitingStreak);
    } else {
      getContext().getLog().debug("loop {}: {}; trying again in {} ms", loop.name(), why, delay.toMillis());
    }
    if (waitingStreak == 1) {
      context.events().notice("loop " + loop.name() + ": " + why + " (retrying with back-off; other loops go on)");
    }
    timers.startSingleTimer(new Retry(why, action), delay);
  }

  private void recovered() {
    if (state == LoopState.LOOP_STATE_WAITING) {
      state = LoopState.LOOP_STATE_RUNNING;
      message = "";
      waitingStreak = 0;
    }
  }

  private Behavior<Command> fail(String why) {
    getContext().getLog().error("loop {} failed: {}", loop.name(), why);
    state = LoopState.LOOP_STATE_FAILED;
    message = why;
    LoopStatus status = status();
    context.events().loopFinished(status);
    reportTo.tell(status);
    return Behaviors.stopped();
  }

  private void finish() {
    state = LoopState.LOOP_STATE_DONE;
    message = "";
    LoopStatus status = status();
    context.events().loopFinished(status);
    reportTo.tell(status);
    getContext().stop(learner);
  }

  private LoopStatus status() {
    boolean shownPaused = paused && (state == LoopState.LOOP_STATE_RUNNING || state == LoopState.LOOP_STATE_WAITING
        || state == LoopState.LOOP_STATE_STARTING);
    LoopState shown = shownPaused ? LoopState.LOOP_STATE_PAUSED : state;
    String shownMessage = shownPaused ? (stopping ? "stopping" : "paused") + (pauseReason.isEmpty() ? "" : ": "
        + pauseReason) + (state == LoopState.LOOP_STATE_WAITING ? " (and waiting: " + message + ")" : "") : message;
    LoopStatus.Builder s = LoopStatus.newBuilder().setLoop(loop.name()).setAlgorithm(loop.algorithm().configName())
        .setFeedback(loop.feedback().configName()).setStep(step).setSteps(loop.steps())
        .setAdapterVersion(Math.max(0, published)).setState(shown).setMessage(shownMessage).putAllMetrics(lastMetrics)
        .setStepStartedMs(stepStartedMs).setStepEndedMs(stepEndedMs);
    if (resumedFrom != null) {
      s.setResumedFromStep(resumedFrom);
    }
    if (goldStart != null) {
      s.setGoldStart(goldStart);
    }
    if (goldEnd != null) {
      s.setGoldEnd(goldEnd);
    }
    if (kl != null) {
      s.setKl(kl);
    }
    return s.build();
  }
}

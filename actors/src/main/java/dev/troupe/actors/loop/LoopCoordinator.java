package dev.troupe.actors.loop;

import dev.troupe.actors.config.Feedback;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.feedback.FeedbackCollector;
import dev.troupe.algorithms.experiment.GoldEvaluation;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.Comparison;
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

  private record EvalSampled(boolean start, long version, RolloutBatch result, Throwable error) implements Command {}

  private record EvalReferenced(boolean start, List<Rollout> samples, LogProbsBatch result, Throwable error)
      implements Command {}

  private record EvaluationStored(boolean start, Throwable error) implements Command {}

  /** Do {@code action} again, after a back-off. */
  private record Retry(String what, Runnable action) implements Command {}

  /** How a loop gets what its learner reads. */
  enum Kind {
    /** ppo, grpo, rloo: sampled rollouts, scored. */
    SCALAR,
    /** the DPO family on two fresh samples per prompt labelled by a judge, the reward model or gold. */
    ONLINE_PAIRS,
    /** the DPO family on stored labelled pairs (a dataset, raters). */
    STORED_PAIRS
  }

  private static final Duration LEARN_TIMEOUT = Duration.ofHours(2);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
  private static final Duration HUMAN_POLL = Duration.ofSeconds(2);

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
  private Map<String, Double> lastMetrics = Map.of();
  private Long resumedFrom;
  private Double goldStart;
  private Double goldEnd;
  private Double kl;
  private int waitingStreak;
  private long stepStartedMs;
  private long stepEndedMs;
  /** The version being served, to serve again when the load failed. */
  private LearnResult pendingServe;

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

  static Kind kindOf(LoopConfig loop) {
    if (!loop.algorithm().pairwise()) {
      return Kind.SCALAR;
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
        .onMessage(PairsFetched.class, this::onPairsFetched)
        .onMessage(EvalSampled.class, this::onEvalSampled)
        .onMessage(EvalReferenced.class, this::onEvalReferenced)
        .onMessage(EvaluationStored.class, this::onEvaluationStored)
        .onMessage(Retry.class, m -> {
          m.action().run();
          return this;
        })
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
      lastMetrics = result.getMetricsMap();
      stepStartedMs = result.getStartedMs();
      stepEndedMs = result.getEndedMs();
      waitingStreak = 0;
      context.events().loopStep(status());
    }
    serve(result);
    return this;
  }

  /** The new version goes to the policy worker before any batch that needs it is requested. */
  private void serve(LearnResult result) {
    long version = result.getAdapterVersion();
    getContext().ask(Ack.class, policy, context.askTimeout(),
        replyTo -> new PolicyWorker.LoadAdapter(result.getAdapter(), replyTo),
        (ack, error) -> new AdapterServed(version, ack, error));
    pendingServe = result;
  }

  private Behavior<Command> onAdapterServed(AdapterServed m) {
    if (m.error() != null || !m.ack().getOk()) {
      String why = m.error() != null ? m.error().getMessage() : m.ack().getError();
      if (m.ack() != null && why.contains("is not newer")) {
        published = Math.max(published, m.version()); // served already (a reissued load after a timeout)
      } else {
        LearnResult again = pendingServe;
        retryLater(0, "serving adapter version " + m.version() + ": " + why, () -> serve(again));
        return this;
      }
    }
    published = Math.max(published, m.version());
    if (state == LoopState.LOOP_STATE_STARTING) {
      if (context.gold() != null && goldStart == null) {
        evaluate(true, published);
        return this;
      }
      state = LoopState.LOOP_STATE_RUNNING;
    }
    pump();
    return this;
  }

  // ---- the pipeline ------------------------------------------------------------------------------

  /** Requests what may be requested now and hands the learner its next batch when it is ready. */
  private void pump() {
    if (state != LoopState.LOOP_STATE_RUNNING && state != LoopState.LOOP_STATE_WAITING) {
      return;
    }
    if (step == loop.steps()) {
      if (context.gold() != null) {
        state = LoopState.LOOP_STATE_RUNNING;
        evaluate(false, published);
      } else {
        finish();
      }
      return;
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
    if (!learnerBusy && (readyRollouts.containsKey(next) || readyPairs.containsKey(next))) {
      learnerBusy = true;
      LearnRequest.Builder request = LearnRequest.newBuilder().setLoop(loop.name()).setStep(next);
      if (readyRollouts.containsKey(next)) {
        request.addAllRollouts(readyRollouts.get(next));
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
    return switch (kind) {
      case ONLINE_PAIRS -> 2;
      case SCALAR -> loop.algorithm() == dev.troupe.actors.config.Algorithm.PPO ? 1 : loop.grpo().groupSize();
      case STORED_PAIRS -> 0;
    };
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
        .addAllPrompts(context.prompts().batch(loop.name(), batch, loop.batchSize()))
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
    if (kind == Kind.SCALAR) {
      score(m.batch(), m.attempt(), rollouts);
    } else {
      judge(m.batch(), m.attempt(), comparisons(m.batch(), m.attempt(), rollouts));
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
        .setRewardModel("reward-model").addAllRollouts(rollouts).build();
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

  /** Each prompt's two samples as a comparison whose responses keep their rollouts' ids and versions. */
  private JudgeRequest comparisons(long batch, int attempt, List<Rollout> rollouts) {
    JudgeRequest.Builder request = JudgeRequest.newBuilder().setLoop(loop.name());
    for (int i = 0; i + 1 < rollouts.size(); i += 2) {
      Rollout a = rollouts.get(i);
      Rollout b = rollouts.get(i + 1);
      request.addComparisons(Comparison.newBuilder()
          .setId(loop.name() + "/batch-" + batch
              + (attempt > 0 ? "-refill-" + attempt : "") + "/" + i / 2)
          .setPrompt(a.getPrompt()).addResponses(response(a)).addResponses(response(b)));
    }
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
  private void evaluate(boolean start, long version) {
    QuickstartGold gold = context.gold();
    GenerateRequest request = GoldEvaluation.request(loop.name() + "/eval-" + (start ? "start" : "end"),
        loop.name(), version, gold.heldOut(), gold.task(), gold.codec(), gold.sampling());
    getContext().ask(RolloutBatch.class, policy, context.askTimeout(),
        replyTo -> new PolicyWorker.Generate(request, replyTo),
        (result, error) -> new EvalSampled(start, version, result, error));
  }

  private Behavior<Command> onEvalSampled(EvalSampled m) {
    String error = m.error() != null ? m.error().getMessage() : m.result().getError().isEmpty() ? null
        : m.result().getError();
    if (error != null) {
      retryLater(0, "gold evaluation: " + error, () -> evaluate(m.start(), m.version()));
      return this;
    }
    List<Rollout> samples = m.result().getRolloutsList();
    LogProbsRequest request = LogProbsRequest.newBuilder().setRequestId(m.result().getRequestId() + "/reference")
        .setTemperature(1.0).addAllRollouts(samples).build();
    getContext().ask(LogProbsBatch.class, policy, context.askTimeout(),
        replyTo -> new PolicyWorker.ScoreLogProbs(request, replyTo),
        (result, e) -> new EvalReferenced(m.start(), samples, result, e));
    return this;
  }

  private Behavior<Command> onEvalReferenced(EvalReferenced m) {
    String error = m.error() != null ? m.error().getMessage() : m.result().getError().isEmpty() ? null
        : m.result().getError();
    if (error != null) {
      retryLater(0, "gold evaluation: " + error, () -> evaluate(m.start(), published));
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
    MetricsReport.Builder report = MetricsReport.newBuilder().setLoop(loop.name()).setTimeMs(System.currentTimeMillis());
    if (m.start()) {
      goldStart = result.gold();
      report.setStep(0).putValues(GOLD_START, result.gold());
    } else {
      goldEnd = result.gold();
      kl = result.kl();
      report.setStep(step).putValues(GOLD_END, result.gold()).putValues(KL, result.kl());
    }
    result.goldByKind().forEach((kind, value) -> report.putValues((m.start() ? GOLD_START : GOLD_END) + "/" + kind, value));
    MetricsReport built = report.build();
    getContext().ask(Ack.class, learner, LEARN_TIMEOUT, replyTo -> new Learner.RecordEvaluation(built, replyTo),
        (ack, failure) -> new EvaluationStored(m.start(), failure));
    return this;
  }

  /** The loop goes on (or ends) only once its evaluation is stored: stopping the learner first would lose it. */
  private Behavior<Command> onEvaluationStored(EvaluationStored m) {
    if (m.error() != null) {
      return fail("storing the gold evaluation: " + m.error().getMessage());
    }
    if (m.start()) {
      state = LoopState.LOOP_STATE_RUNNING;
      pump();
    } else {
      finish();
    }
    return this;
  }

  static final String GOLD_START = "eval/gold_start";
  static final String GOLD_END = "eval/gold_end";
  static final String KL = "eval/kl";

  // ---- waiting, failing, finishing -------------------------------------------------------------

  /** Tries {@code action} again after 0.5 s · 2^attempt (at most 30 s); the loop says why it waits. */
  private void retryLater(int attempt, String why, Runnable action) {
    waitingStreak++;
    state = state == LoopState.LOOP_STATE_STARTING ? state : LoopState.LOOP_STATE_WAITING;
    message = why;
    Duration delay = Duration.ofMillis((long) Math.min(MAX_BACKOFF.toMillis(), 500 * Math.pow(2, Math.min(attempt, 10))));
    getContext().getLog().warn("loop {}: {}; trying again in {} ms", loop.name(), why, delay.toMillis());
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
    LoopStatus.Builder s = LoopStatus.newBuilder().setLoop(loop.name()).setAlgorithm(loop.algorithm().configName())
        .setFeedback(loop.feedback().configName()).setStep(step).setSteps(loop.steps())
        .setAdapterVersion(Math.max(0, published)).setState(state).setMessage(message).putAllMetrics(lastMetrics)
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

package dev.troupe.actors.feedback;

import dev.troupe.actors.config.FeedbackQueueSettings;
import dev.troupe.actors.judge.AiLabels;
import dev.troupe.actors.judge.Judge;
import dev.troupe.actors.judge.JudgeUnavailableException;
import dev.troupe.actors.judge.Verdict;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.actors.store.StoredLabel;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.ConsumedPairs;
import dev.troupe.protocol.ConsumedPairsRequest;
import dev.troupe.protocol.LedgerEntry;
import dev.troupe.protocol.StepPairs;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.JudgeRequest;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.PairsRequest;
import dev.troupe.protocol.PreferenceBatch;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.LabelReceipt;
import dev.troupe.protocol.LabelSubmission;
import dev.troupe.protocol.SkipRequest;
import dev.troupe.protocol.TaskAck;
import dev.troupe.protocol.TaskReply;
import dev.troupe.protocol.TaskRequest;
import dev.troupe.protocol.UndoRequest;
import dev.troupe.protocol.wire.WireMessage;
import dev.troupe.reward.RewardWorker;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Where every label comes in and is made durable before anyone hears of it: the AI judges' verdicts
 * on loops' fresh comparisons, raters' labels, and the stored pairs a loop has not consumed yet. It
 * also keeps the raters' task queue ({@link HumanQueue}): judged comparisons become tasks, ordered by
 * how much the reward model and the judge disagree, with gold items and overlap. Work runs on the I/O
 * dispatcher, so a judge that does not answer holds none of the tensor threads. Registered with the
 * receptionist under {@link #KEY}, where the feedback UI finds it.
 */
public final class FeedbackCollector extends AbstractBehavior<FeedbackCollector.Command> {
  public sealed interface Command {}

  /** Judge a loop's comparisons with that loop's judge; answers the usable pairs (ties are stored, not answered). */
  public record JudgePairs(JudgeRequest request, ActorRef<PreferenceBatch> replyTo) implements Command, WireMessage {}

  /**
   * Fresh comparisons of a loop's current adapter for raters to label (a loop whose feedback is human
   * samples them): stored, then queued as tasks with the queue's priorities; acknowledged once stored.
   * Comparisons already stored (a resumed loop samples a version again) are not queued twice.
   */
  public record QueueForRaters(JudgeRequest request, ActorRef<TaskAck> replyTo) implements Command, WireMessage {}

  /** Stored labelled pairs the loop has not consumed, oldest first. */
  public record NextPairs(PairsRequest request, ActorRef<PreferenceBatch> replyTo) implements Command, WireMessage {}

  /** The labelled pairs the loop consumed at each step up to a step, from the ledger (a resume replays them). */
  public record PairsConsumed(ConsumedPairsRequest request, ActorRef<ConsumedPairs> replyTo)
      implements Command, WireMessage {}

  /** A rater's label; acknowledged only once committed (the same client id twice stores one label). */
  public record SubmitLabel(Label label, ActorRef<Ack> replyTo) implements Command, WireMessage {}

  /** The task a rater should do now (their live lease, a gold item when due, or the top of the queue), leased to them. */
  public record NextTask(TaskRequest request, ActorRef<TaskReply> replyTo) implements Command, WireMessage {}

  /** A rater's answer to a task; acknowledged only once committed (the same client id twice stores one label). */
  public record SubmitTaskLabel(LabelSubmission submission, ActorRef<LabelReceipt> replyTo)
      implements Command, WireMessage {}

  /** Undoes a rater's own label until a training step consumed it. */
  public record UndoLabel(UndoRequest request, ActorRef<TaskAck> replyTo) implements Command, WireMessage {}

  /** A rater passes on a task. */
  public record SkipTask(SkipRequest request, ActorRef<TaskAck> replyTo) implements Command, WireMessage {}

  private record Scored(List<Comparison> comparisons, List<Label> labels, String loop, dev.troupe.protocol.ScoreBatch scores,
      Throwable error) implements Command {}

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "feedback-collector");

  /**
   * A loop's judge and how its labels are marked: an AI judge's stay source AI; the quickstart's gold
   * scorer judging online pairs relabels them source GOLD.
   */
  public record LoopJudge(Judge judge, UnaryOperator<Label> relabel) {
    public static LoopJudge of(Judge judge) {
      return new LoopJudge(judge, UnaryOperator.identity());
    }
  }

  /**
   * What the raters' queue needs from the campaign: its settings, each loop's max staleness, the reward
   * worker and model that score candidates (null: none, priorities then fall back as the settings say),
   * a tokenizer for raters' rewrites (null: rewrites are refused) and the campaign's seed.
   */
  public record Raters(FeedbackQueueSettings settings, Map<String, Integer> maxStaleness,
      ActorRef<RewardWorker.Command> reward, String rewardModel, java.util.function.Function<String, long[]> tokenizer,
      long seed) {
    public static Raters of(FeedbackQueueSettings settings) {
      return new Raters(settings, Map.of(), null, null, null, 0);
    }
  }

  private static final java.time.Duration SCORE_TIMEOUT = java.time.Duration.ofMinutes(2);

  private final CampaignStore store;
  private final Map<String, LoopJudge> judges;
  private final Executor io;
  private final HumanQueue queue;
  private final Raters raters;

  public static Behavior<Command> create(CampaignStore store, Map<String, LoopJudge> judges) {
    return create(store, judges, Raters.of(FeedbackQueueSettings.DEFAULT));
  }

  public static Behavior<Command> create(CampaignStore store, Map<String, LoopJudge> judges, Raters raters) {
    return Behaviors.setup(ctx -> new FeedbackCollector(ctx, store, judges, raters));
  }

  private FeedbackCollector(ActorContext<Command> context, CampaignStore store, Map<String, LoopJudge> judges,
      Raters raters) {
    super(context);
    this.store = store;
    this.judges = Map.copyOf(judges);
    this.raters = raters;
    this.io = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("troupe.io-dispatcher"));
    this.queue = new HumanQueue(store, raters.settings(), raters.maxStaleness(), raters.tokenizer(), raters.seed());
    context.getSystem().receptionist().tell(Receptionist.register(KEY, context.getSelf()));
    CompletableFuture.runAsync(queue::addGoldItems, io).whenComplete((ok, error) -> {
      if (error != null) {
        org.slf4j.LoggerFactory.getLogger(FeedbackCollector.class).warn("gold items not queued: {}", cause(error).getMessage());
      }
    });
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(JudgePairs.class, this::onJudgePairs)
        .onMessage(QueueForRaters.class, this::onQueueForRaters)
        .onMessage(NextPairs.class, this::onNextPairs)
        .onMessage(SubmitLabel.class, this::onSubmitLabel)
        .onMessage(PairsConsumed.class, this::onPairsConsumed)
        .onMessage(NextTask.class, this::onNextTask)
        .onMessage(SubmitTaskLabel.class, this::onSubmitTaskLabel)
        .onMessage(UndoLabel.class, this::onUndoLabel)
        .onMessage(SkipTask.class, this::onSkipTask)
        .onMessage(Scored.class, this::onScored)
        .build();
  }

  private Behavior<Command> onJudgePairs(JudgePairs m) {
    LoopJudge judge = judges.get(m.request().getLoop());
    if (judge == null) {
      m.replyTo().tell(PreferenceBatch.newBuilder().setError("loop '" + m.request().getLoop()
          + "' has no judge here (judges: " + judges.keySet() + ")").build());
      return this;
    }
    String loop = m.request().getLoop();
    ActorRef<Command> self = getContext().getSelf(); // the context is the actor's alone: not for the callback's thread
    CompletableFuture.supplyAsync(() -> judgeAndStore(judge, m.request().getComparisonsList()), io)
        .whenComplete((batch, error) -> {
          m.replyTo().tell(error == null ? batch : failure(error));
          if (error == null && batch.getError().isEmpty()) {
            self.tell(new Scored(m.request().getComparisonsList(), List.of(), loop, null, null));
          }
        });
    return this;
  }

  /**
   * Judged comparisons become raters' tasks: first the reward model scores their responses (when the
   * queue orders by it), then they are queued with their priorities. The loop that asked has its
   * answer already; this never delays it.
   */
  private Behavior<Command> onScored(Scored m) {
    boolean needScores = raters.reward() != null && raters.settings().selection() != FeedbackQueueSettings.Selection.RANDOM;
    if (m.scores() == null && m.error() == null && needScores) {
      dev.troupe.protocol.ScoreRequest request = HumanQueue.scoreRequest(m.loop(), m.comparisons(), raters.rewardModel());
      getContext().ask(dev.troupe.protocol.ScoreBatch.class, raters.reward(), SCORE_TIMEOUT,
          replyTo -> new RewardWorker.Score(request, replyTo),
          (scores, error) -> new Scored(m.comparisons(), m.labels(), m.loop(), scores, error == null && scores == null
              ? new IllegalStateException("no scores") : error));
      return this;
    }
    if (m.error() != null) {
      getContext().getLog().info("queueing without reward scores ({}): {}", m.loop(), m.error().getMessage());
    }
    dev.troupe.protocol.ScoreBatch scores = m.error() == null && m.scores() != null && m.scores().getError().isEmpty()
        ? m.scores() : null;
    CompletableFuture.runAsync(() -> queue.enqueueJudged(m.loop(), m.comparisons(), scores), io)
        .whenComplete((ok, error) -> {
          if (error != null) {
            org.slf4j.LoggerFactory.getLogger(FeedbackCollector.class).warn("queueing comparisons of loop {} for raters"
                + " failed: {}", m.loop(), cause(error).getMessage());
          }
        });
    return this;
  }

  private Behavior<Command> onQueueForRaters(QueueForRaters m) {
    ActorRef<Command> self = getContext().getSelf();
    String loop = m.request().getLoop();
    CompletableFuture.supplyAsync(() -> storeNew(m.request().getComparisonsList()), io)
        .whenComplete((fresh, error) -> {
          m.replyTo().tell(error == null ? TaskAck.newBuilder().setOk(true).build() : unavailable(error));
          if (error == null && !fresh.isEmpty()) {
            self.tell(new Scored(fresh, List.of(), loop, null, null));
          }
        });
    return this;
  }

  /** The comparisons not stored yet, now stored. */
  private List<Comparison> storeNew(List<Comparison> comparisons) {
    List<Comparison> fresh = new java.util.ArrayList<>(comparisons.size());
    for (Comparison c : comparisons) {
      if (store.comparison(c.getId()).isEmpty()) {
        store.putComparison(c);
        fresh.add(c);
      }
    }
    return fresh;
  }

  private Behavior<Command> onNextTask(NextTask m) {
    CompletableFuture.supplyAsync(() -> queue.next(m.request().getRaterId(), System.currentTimeMillis()), io)
        .whenComplete((task, error) -> m.replyTo().tell(error != null
            ? TaskReply.newBuilder().setError(cause(error).getMessage()).build()
            : task.map(t -> TaskReply.newBuilder().setTask(t).build()).orElse(TaskReply.getDefaultInstance())));
    return this;
  }

  private Behavior<Command> onSubmitTaskLabel(SubmitTaskLabel m) {
    CompletableFuture.supplyAsync(() -> queue.submit(m.submission(), System.currentTimeMillis()), io)
        .whenComplete((receipt, error) -> m.replyTo().tell(error == null ? receipt : LabelReceipt.newBuilder()
            .setRefusal(dev.troupe.protocol.RefusalKind.REFUSAL_KIND_UNAVAILABLE).setError(cause(error).getMessage()).build()));
    return this;
  }

  private Behavior<Command> onUndoLabel(UndoLabel m) {
    CompletableFuture.supplyAsync(() -> queue.undo(m.request().getRaterId(), m.request().getLabelId()), io)
        .whenComplete((ack, error) -> m.replyTo().tell(error == null ? ack : unavailable(error)));
    return this;
  }

  private Behavior<Command> onSkipTask(SkipTask m) {
    CompletableFuture.supplyAsync(() -> queue.skip(m.request().getRaterId(), m.request().getTaskId(),
            System.currentTimeMillis()), io)
        .whenComplete((ack, error) -> m.replyTo().tell(error == null ? ack : unavailable(error)));
    return this;
  }

  private static TaskAck unavailable(Throwable error) {
    return TaskAck.newBuilder().setRefusal(dev.troupe.protocol.RefusalKind.REFUSAL_KIND_UNAVAILABLE)
        .setError(cause(error).getMessage()).build();
  }

  /** Verdicts, then every comparison and label committed, then the usable pairs. */
  private PreferenceBatch judgeAndStore(LoopJudge loopJudge, List<Comparison> comparisons) {
    List<Verdict> verdicts;
    try {
      verdicts = loopJudge.judge().judge(comparisons);
    } catch (JudgeUnavailableException e) {
      return PreferenceBatch.newBuilder().setError(e.getMessage()).setRetryable(true).build();
    }
    PreferenceBatch.Builder out = PreferenceBatch.newBuilder();
    long now = System.currentTimeMillis();
    List<Label> labels = new java.util.ArrayList<>(comparisons.size());
    for (int i = 0; i < comparisons.size(); i++) {
      labels.add(loopJudge.relabel().apply(AiLabels.label(comparisons.get(i), verdicts.get(i), loopJudge.judge(), now)));
    }
    List<StoredLabel> stored = store.putLabelled(comparisons, labels); // one commit for the whole batch
    for (int i = 0; i < comparisons.size(); i++) {
      Label label = stored.get(i).label();
      if (label.getTie() || label.getBothBad()) {
        out.setTies(out.getTies() + 1);
      } else {
        out.addPairs(PreferencePair.newBuilder().setId(label.getId()).setComparison(comparisons.get(i)).setLabel(label));
      }
    }
    return out.build();
  }

  private Behavior<Command> onNextPairs(NextPairs m) {
    Set<FeedbackSource> sources = m.request().getSourcesList().isEmpty() ? EnumSet.noneOf(FeedbackSource.class)
        : EnumSet.copyOf(m.request().getSourcesList());
    CompletableFuture.supplyAsync(() -> PreferenceBatch.newBuilder()
            .addAllPairs(store.unconsumedPairs(m.request().getLoop(), sources, m.request().getLimit())).build(), io)
        .whenComplete((batch, error) -> m.replyTo().tell(error == null ? batch : failure(error)));
    return this;
  }

  private Behavior<Command> onPairsConsumed(PairsConsumed m) {
    CompletableFuture.supplyAsync(() -> consumedPairs(m.request()), io).whenComplete((pairs, error) ->
        m.replyTo().tell(error == null ? pairs : ConsumedPairs.newBuilder().setError(cause(error).getMessage()).build()));
    return this;
  }

  private ConsumedPairs consumedPairs(ConsumedPairsRequest request) {
    java.util.TreeMap<Long, StepPairs.Builder> steps = new java.util.TreeMap<>();
    for (LedgerEntry e : store.ledger(request.getLoop())) {
      if (e.getStep() > request.getToStep() || !e.getKind().equals(CampaignStore.LedgerItem.LABEL)) {
        continue;
      }
      Label label = store.label(e.getItemId()).orElseThrow(() -> new IllegalStateException("the ledger names label "
          + e.getItemId() + ", which the store does not hold"));
      Comparison comparison = store.comparison(label.getComparisonId()).orElseThrow();
      steps.computeIfAbsent(e.getStep(), s -> StepPairs.newBuilder().setStep(s)).addPairs(PreferencePair.newBuilder()
          .setId(label.getId()).setComparison(comparison).setLabel(label));
    }
    ConsumedPairs.Builder out = ConsumedPairs.newBuilder();
    steps.values().forEach(out::addSteps);
    return out.build();
  }

  private Behavior<Command> onSubmitLabel(SubmitLabel m) {
    CompletableFuture.supplyAsync(() -> store.putLabel(m.label()), io).whenComplete((stored, error) ->
        m.replyTo().tell(error == null ? Ack.newBuilder().setOk(true).setDetail(stored.label().getId()).build()
            : Ack.newBuilder().setOk(false).setError(cause(error).getMessage()).build()));
    return this;
  }

  private static PreferenceBatch failure(Throwable error) {
    Throwable cause = cause(error);
    return PreferenceBatch.newBuilder().setError(cause.getClass().getSimpleName() + ": " + cause.getMessage())
        .setRetryable(!(cause instanceof IllegalArgumentException)).build();
  }

  private static Throwable cause(Throwable error) {
    return error instanceof java.util.concurrent.CompletionException && error.getCause() != null
        ? error.getCause() : error;
  }
}

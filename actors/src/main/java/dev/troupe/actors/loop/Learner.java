package dev.troupe.actors.loop;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.actors.checkpoint.Checkpoints;
import dev.troupe.actors.config.Algorithm;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.algorithms.dpo.DpoTrainer;
import dev.troupe.algorithms.grpo.GrpoTrainer;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.ppo.PpoTrainer;
import dev.troupe.algorithms.rollout.Staleness;
import dev.troupe.algorithms.trainer.Trainer;
import dev.troupe.algorithms.trainer.TrainerConfigs;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.AdapterHistory;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.LearnRequest;
import dev.troupe.protocol.LearnResult;
import dev.troupe.protocol.MetricsReport;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.TrainerState;
import dev.troupe.protocol.wire.WireMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * A loop's trainable adapter and its trainer (the algorithm the loop names), on the tensor dispatcher:
 * takes steps strictly in order, commits each step's ledger rows (with its checkpoint every
 * {@code checkpoint.every} steps and at the last) and answers with a copy of the new adapter version.
 * At start it resumes from the loop's newest valid checkpoint, skipping corrupt ones.
 */
public final class Learner extends AbstractBehavior<Learner.Command> {
  public sealed interface Command {}

  /** Where the loop stands (after a resume, the checkpoint's step), with a copy of the adapter to serve. */
  public record Initial(ActorRef<LearnResult> replyTo) implements Command, WireMessage {}

  public record Learn(LearnRequest request, ActorRef<LearnResult> replyTo) implements Command, WireMessage {}

  /**
   * An evaluation of the loop's policy (gold before the first step, after the last), kept with the
   * metrics of the step it evaluates; acknowledged once stored.
   */
  public record RecordEvaluation(MetricsReport report, ActorRef<Ack> replyTo) implements Command, WireMessage {}

  /** Checkpoints the last step taken unless it has a checkpoint already (a loop that is being stopped). */
  public record CheckpointNow(ActorRef<Ack> replyTo) implements Command, WireMessage {}

  static final String TRAINER_STATE = "trainer-state.pb";
  static final String LOOP_STATE = "loop-state.json";
  static final String ADAPTER = "adapter";
  static final String ADAPTER_HISTORY = "adapter-history.pb";
  private static final ObjectMapper JSON = new ObjectMapper();

  private final LoopContext context;
  private final LoopConfig loop;
  private final CausalLm model;
  private final CampaignStore store;
  private final Checkpoints checkpoints;
  private final Adapter adapter;
  private final Trainer trainer;
  private final long resumedFrom;
  private long step;
  /**
   * The versions before the current one that batches requested ahead of the learner may have been
   * sampled with (max-in-flight − 1 of them), oldest first: a checkpoint keeps them so that a resumed
   * loop samples those batches again exactly as before.
   */
  private final java.util.ArrayDeque<AdapterVersion> history = new java.util.ArrayDeque<>();
  /** A copy of the adapter at version {@code step}, as served. */
  private AdapterVersion current;

  public static Behavior<Command> create(LoopContext context) {
    return Behaviors.setup(ctx -> new Learner(ctx, context));
  }

  private Learner(ActorContext<Command> actorContext, LoopContext context) throws IOException {
    super(actorContext);
    this.context = context;
    this.loop = context.loop();
    this.model = context.model();
    this.store = context.store();
    this.checkpoints = context.checkpoints();
    this.resumedFrom = newestValidCheckpoint();
    this.step = resumedFrom;
    // Ledger rows of steps after the checkpoint belong to work that is about to be redone.
    store.rollbackAfter(loop.name(), step);
    if (model.adapterNames().contains(loop.name())) {
      model.removeAdapter(loop.name());
    }
    Path folder = checkpoints.folder(loop.name(), step);
    this.adapter = step > 0
        ? model.register(PeftAdapters.load(folder.resolve(ADAPTER), loop.name(), model))
        : model.createAdapter(loop.name(), loop.adapter(), LoopSeeds.adapter(context.campaign().seed(), loop.name()));
    this.trainer = trainer(loop, model, adapter, context.campaign().seed());
    this.current = AdapterVersions.snapshot(adapter, model, loop.name(), step);
    if (step > 0) {
      trainer.restore(TrainerState.parseFrom(Files.readAllBytes(folder.resolve(TRAINER_STATE))));
      history.addAll(AdapterHistory.parseFrom(Files.readAllBytes(folder.resolve(ADAPTER_HISTORY))).getVersionsList());
      actorContext.getLog().info("loop {} resumes from its checkpoint at step {}", loop.name(), step);
    }
  }

  static Trainer trainer(LoopConfig loop, CausalLm model, Adapter adapter, long campaignSeed) {
    OptimizerSettings optim = new OptimizerSettings(loop.optim().lr(), loop.optim().maxGradNorm(), 0.0,
        loop.optim().gradientAccumulationSteps(), null);
    return switch (loop.algorithm()) {
      case PPO -> new PpoTrainer(model, adapter, TrainerConfigs.ppo(loop.ppo()), optim,
          TrainerConfigs.ppoCritic(loop.ppo(), optim), LoopSeeds.of(campaignSeed, loop.name()));
      case GRPO, RLOO -> new GrpoTrainer(model, adapter, TrainerConfigs.grpo(loop.algorithm() == Algorithm.RLOO,
          loop.grpo()), optim);
      case DPO, IPO, CDPO -> new DpoTrainer(model, adapter,
          TrainerConfigs.dpo(loop.algorithm().configName(), loop.dpo()), optim);
    };
  }

  /**
   * The step of the newest checkpoint the store committed whose folder is intact; corrupt or missing
   * ones are reported (naming the file), forgotten and removed, and folders the store never committed
   * (a crash between writing and committing) are removed too. 0 when none is left.
   */
  private long newestValidCheckpoint() throws IOException {
    String name = loop.name();
    checkpoints.deleteTemporaries(name);
    long chosen = 0;
    Set<Long> committed = new TreeSet<>();
    for (CampaignStore.CheckpointRecord record : store.checkpoints(name)) {
      if (chosen > 0) {
        committed.add(record.step());
        continue;
      }
      String problem = checkpoints.problem(name, record.step());
      if (problem == null) {
        chosen = record.step();
        committed.add(chosen);
      } else {
        String message = "loop " + name + ": checkpoint at step " + record.step() + " skipped: " + problem;
        getContext().getLog().warn(message);
        context.events().notice(message);
        store.forgetCheckpoint(name, record.step());
        checkpoints.delete(name, record.step());
      }
    }
    for (long onDisk : checkpoints.steps(name)) {
      if (!committed.contains(onDisk)) {
        checkpoints.delete(name, onDisk);
      }
    }
    return chosen;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Initial.class, this::onInitial)
        .onMessage(Learn.class, this::onLearn)
        .onMessage(RecordEvaluation.class, this::onRecordEvaluation)
        .onMessage(CheckpointNow.class, this::onCheckpointNow)
        .onSignal(PostStop.class, signal -> {
          trainer.close();
          return this;
        })
        .build();
  }

  private Behavior<Command> onInitial(Initial m) {
    LearnResult.Builder out = LearnResult.newBuilder().setLoop(loop.name()).setStep(step).setAdapterVersion(step)
        .setAdapter(current).addAllPreviousAdapters(history);
    if (resumedFrom > 0) {
      out.setResumedFromStep(resumedFrom);
    }
    // Evaluations recorded before a crash (the gold score at the start) are not redone.
    for (MetricsReport report : store.metrics(loop.name())) {
      if (report.getStep() == 0) {
        out.putAllMetrics(report.getValuesMap());
      }
    }
    m.replyTo().tell(out.build());
    return this;
  }

  private Behavior<Command> onLearn(Learn m) {
    LearnRequest request = m.request();
    LearnResult.Builder out = LearnResult.newBuilder().setLoop(loop.name()).setStep(request.getStep())
        .setStartedMs(System.currentTimeMillis());
    if (request.getStep() != step + 1) {
      m.replyTo().tell(out.setError("step " + request.getStep() + " out of order: the learner is at step " + step).build());
      return this;
    }
    try {
      List<CampaignStore.LedgerItem> consumed = new ArrayList<>();
      Metrics metrics;
      if (loop.algorithm().pairwise()) {
        List<PreferencePair> pairs = request.getPairsList();
        metrics = ((DpoTrainer) trainer).step(pairs);
        pairs.forEach(p -> consumed.add(CampaignStore.LedgerItem.label(p.getId())));
      } else {
        Staleness fresh = Staleness.filter(request.getRolloutsList(), step, loop.maxStaleness());
        if (fresh.kept().isEmpty()) {
          throw new IllegalStateException("every rollout of step " + request.getStep() + " is more than "
              + loop.maxStaleness() + " versions old (lag " + fresh.maxLag() + ")");
        }
        metrics = trainer instanceof PpoTrainer ppo ? ppo.learn(fresh.kept()) : ((GrpoTrainer) trainer).learn(fresh.kept());
        metrics.merge(fresh.metrics());
        for (Rollout r : fresh.kept()) {
          consumed.add(CampaignStore.LedgerItem.rollout(r.getId()));
        }
        request.getRewardLabelIdsList().forEach(id -> consumed.add(CampaignStore.LedgerItem.label(id)));
      }
      long next = step + 1;
      AdapterVersion updated = AdapterVersions.snapshot(adapter, model, loop.name(), next);
      if (loop.maxInFlight() > 1) {
        history.addLast(current);
        while (history.size() > loop.maxInFlight() - 1) {
          history.removeFirst();
        }
      }
      current = updated;
      boolean checkpoint = next % context.campaign().checkpoint().every() == 0 || next == loop.steps();
      CampaignStore.CheckpointRecord record = checkpoint ? writeCheckpoint(next) : null;
      store.commitStep(loop.name(), next, step, consumed, record);
      step = next;
      if (checkpoint) {
        prune();
      }
      if (step == loop.steps()) {
        PeftAdapters.save(adapter, model, "troupe", context.runDir().resolve("adapters").resolve(loop.name()));
      }
      MetricsReport report = MetricsReport.newBuilder().setLoop(loop.name()).setStep(step)
          .putAllValues(metrics.asMap()).setTimeMs(System.currentTimeMillis()).build();
      store.recordMetrics(report);
      m.replyTo().tell(out.setAdapterVersion(step).putAllMetrics(metrics.asMap()).setCheckpointed(checkpoint)
          .setAdapter(updated)
          .setEndedMs(System.currentTimeMillis()).build());
    } catch (IOException | RuntimeException e) {
      getContext().getLog().error("loop {}: step {} failed", loop.name(), request.getStep(), e);
      m.replyTo().tell(out.setError(e.getClass().getSimpleName() + ": " + e.getMessage()).build());
    }
    return this;
  }

  /** The evaluation's values join those of its step (the store keeps one report per loop and step). */
  private Behavior<Command> onRecordEvaluation(RecordEvaluation m) {
    MetricsReport.Builder merged = m.report().toBuilder();
    for (MetricsReport earlier : store.metrics(loop.name())) {
      if (earlier.getStep() == m.report().getStep()) {
        earlier.getValuesMap().forEach((name, value) -> {
          if (!merged.containsValues(name)) {
            merged.putValues(name, value);
          }
        });
      }
    }
    store.recordMetrics(merged.build());
    m.replyTo().tell(Ack.newBuilder().setOk(true).build());
    return this;
  }

  private Behavior<Command> onCheckpointNow(CheckpointNow m) {
    try {
      boolean has = store.checkpoints(loop.name()).stream().anyMatch(c -> c.step() == step);
      if (step > 0 && !has) {
        store.commitStep(loop.name(), step, step - 1, List.of(), writeCheckpoint(step));
        prune();
      }
      m.replyTo().tell(Ack.newBuilder().setOk(true).setDetail(has || step == 0 ? "step " + step
          + " needs no checkpoint" : "checkpoint at step " + step).build());
    } catch (IOException | RuntimeException e) {
      getContext().getLog().error("loop {}: checkpoint at step {} failed", loop.name(), step, e);
      m.replyTo().tell(Ack.newBuilder().setOk(false).setError(e.getClass().getSimpleName() + ": " + e.getMessage())
          .build());
    }
    return this;
  }

  private CampaignStore.CheckpointRecord writeCheckpoint(long next) throws IOException {
    TrainerState state = trainer.state();
    Checkpoints.Written written = checkpoints.write(loop.name(), next, dir -> {
      try {
        PeftAdapters.save(adapter, model, "troupe", dir.resolve(ADAPTER));
        Files.write(dir.resolve(TRAINER_STATE), state.toByteArray());
        Files.write(dir.resolve(ADAPTER_HISTORY), AdapterHistory.newBuilder().addAllVersions(history).build().toByteArray());
        ObjectNode loopState = JSON.createObjectNode();
        loopState.put("loop", loop.name());
        loopState.put("step", next);
        loopState.put("adapter_version", next);
        loopState.put("algorithm", loop.algorithm().configName());
        loopState.put("feedback", loop.feedback().configName());
        loopState.put("batch_size", loop.batchSize());
        loopState.put("next_batch", next + 1);
        loopState.put("seed", LoopSeeds.of(context.campaign().seed(), loop.name()));
        Files.write(dir.resolve(LOOP_STATE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(loopState));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    });
    return new CampaignStore.CheckpointRecord(loop.name(), next, written.folder().toString(), written.manifestSha256(),
        System.currentTimeMillis());
  }

  /** Keeps the newest {@code checkpoint.keep} checkpoints of the loop; older folders and records go. */
  private void prune() throws IOException {
    List<CampaignStore.CheckpointRecord> all = store.checkpoints(loop.name());
    for (int i = context.campaign().checkpoint().keep(); i < all.size(); i++) {
      store.forgetCheckpoint(loop.name(), all.get(i).step());
      checkpoints.delete(loop.name(), all.get(i).step());
    }
  }
}

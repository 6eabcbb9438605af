package dev.troupe.reward;

import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.protocol.wire.WireMessage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Reward models scoring rollouts on the tensor dispatcher. Scoring that throws crashes the worker,
 * which restarts with back-off after answering every request in flight with a retryable error.
 */
public final class RewardWorker extends AbstractBehavior<RewardWorker.Command> {
  public sealed interface Command {}

  public record Score(ScoreRequest request, ActorRef<ScoreBatch> replyTo) implements Command, WireMessage {}

  private record WorkDone(long ticket) implements Command {}

  private record WorkFailed(long ticket, Throwable cause) implements Command {}

  static final class WorkerCrashed extends RuntimeException {
    WorkerCrashed(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "reward-worker");

  private final RewardBackend backend;
  private final Executor tensors;
  private final Map<Long, Runnable> inFlight = new LinkedHashMap<>();
  private long tickets;

  public static Behavior<Command> create(RewardBackend backend) {
    return Behaviors.supervise(Behaviors.<Command>setup(ctx -> new RewardWorker(ctx, backend)))
        .onFailure(WorkerCrashed.class,
            SupervisorStrategy.restartWithBackoff(Duration.ofMillis(100), Duration.ofSeconds(5), 0.2));
  }

  private RewardWorker(ActorContext<Command> context, RewardBackend backend) {
    super(context);
    this.backend = backend;
    this.tensors = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig("troupe.tensor-dispatcher"));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Score.class, this::onScore)
        .onMessage(WorkDone.class, m -> {
          inFlight.remove(m.ticket());
          return this;
        })
        .onMessage(WorkFailed.class, this::onWorkFailed)
        .onSignal(PreRestart.class, signal -> {
          getContext().getLog().warn("reward worker restarting; answering {} requests in flight with a retryable error",
              inFlight.size());
          inFlight.values().forEach(Runnable::run);
          inFlight.clear();
          return this;
        })
        .build();
  }

  private Behavior<Command> onScore(Score m) {
    long ticket = tickets++;
    String id = m.request().getRequestId();
    inFlight.put(ticket, () -> m.replyTo().tell(ScoreBatch.newBuilder().setRequestId(id)
        .setError("reward worker " + getContext().getSelf().path().name() + " restarted").setRetryable(true).build()));
    CompletableFuture<ScoreBatch> future = CompletableFuture.supplyAsync(() -> backend.score(m.request()), tensors)
        .handle((result, error) -> {
          Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
              ? error.getCause() : error;
          if (cause instanceof IllegalArgumentException) {
            // A bad request (an unknown reward model) is answered, not a crash.
            m.replyTo().tell(ScoreBatch.newBuilder().setRequestId(id).setError(cause.getMessage()).build());
            return null;
          }
          if (error != null) {
            throw new java.util.concurrent.CompletionException(cause);
          }
          m.replyTo().tell(result);
          return result;
        });
    getContext().pipeToSelf(future, (result, error) -> error == null ? new WorkDone(ticket) : new WorkFailed(ticket, error));
    return this;
  }

  private Behavior<Command> onWorkFailed(WorkFailed m) {
    if (!inFlight.containsKey(m.ticket())) {
      return this;
    }
    Throwable cause = m.cause() instanceof java.util.concurrent.CompletionException && m.cause().getCause() != null
        ? m.cause().getCause() : m.cause();
    throw new WorkerCrashed("scoring failed: " + cause.getMessage(), cause);
  }
}

package dev.troupe.reward;

import dev.troupe.protocol.RewardTrainRequest;
import dev.troupe.protocol.RewardTrainResult;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.protocol.WorkerEndpoint;
import dev.troupe.protocol.wire.WireMessage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Supplier;
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
 * Reward models scoring rollouts, and learning loops' feedback labels, on the tensor dispatcher. A bad
 * request is answered with its error; work that throws otherwise crashes the worker, which restarts
 * with back-off after answering every request in flight with a retryable error.
 */
public final class RewardWorker extends AbstractBehavior<RewardWorker.Command> {
  public sealed interface Command {}

  public record Score(ScoreRequest request, ActorRef<ScoreBatch> replyTo) implements Command, WireMessage {}

  public record Train(RewardTrainRequest request, ActorRef<RewardTrainResult> replyTo) implements Command, WireMessage {}

  /** Where this worker's gRPC data plane listens; an empty endpoint: in this process only. */
  public record Describe(ActorRef<WorkerEndpoint> replyTo) implements Command, WireMessage {}

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
  private final WorkerEndpoint endpoint;
  private final Map<Long, Runnable> inFlight = new LinkedHashMap<>();
  private long tickets;

  public static Behavior<Command> create(RewardBackend backend) {
    return create(backend, "troupe.tensor-dispatcher", WorkerEndpoint.getDefaultInstance());
  }

  /**
   * A worker whose backend's work runs on {@code dispatcher} (the remote dispatcher for a gRPC client of a
   * remote worker) and that tells the pools discovering it where its data plane listens.
   */
  public static Behavior<Command> create(RewardBackend backend, String dispatcher, WorkerEndpoint endpoint) {
    return Behaviors.supervise(Behaviors.<Command>setup(ctx -> new RewardWorker(ctx, backend, dispatcher, endpoint)))
        .onFailure(WorkerCrashed.class,
            SupervisorStrategy.restartWithBackoff(Duration.ofMillis(100), Duration.ofSeconds(5), 0.2));
  }

  private RewardWorker(ActorContext<Command> context, RewardBackend backend, String dispatcher,
      WorkerEndpoint endpoint) {
    super(context);
    this.backend = backend;
    this.tensors = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(dispatcher));
    this.endpoint = endpoint;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Score.class, m -> {
          String id = m.request().getRequestId();
          run(() -> backend.score(m.request()), m.replyTo()::tell, (error, retryable) -> m.replyTo().tell(
              ScoreBatch.newBuilder().setRequestId(id).setError(error).setRetryable(retryable).build()));
          return this;
        })
        .onMessage(Train.class, m -> {
          String id = m.request().getRequestId();
          run(() -> backend.train(m.request()), m.replyTo()::tell, (error, retryable) -> m.replyTo().tell(
              RewardTrainResult.newBuilder().setRequestId(id).setError(error).build()));
          return this;
        })
        .onMessage(Describe.class, m -> {
          m.replyTo().tell(endpoint);
          return this;
        })
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

  /** The refusal of a request: its error and whether trying again may help. */
  private interface Refusal {
    void refuse(String error, boolean retryable);
  }

  private <T> void run(Supplier<T> work, Consumer<T> reply, Refusal refuse) {
    long ticket = tickets++;
    inFlight.put(ticket, () -> refuse.refuse("reward worker " + getContext().getSelf().path().name() + " restarted",
        true));
    CompletableFuture<T> future = CompletableFuture.supplyAsync(work, tensors).handle((result, error) -> {
      Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (cause instanceof IllegalArgumentException) {
        refuse.refuse(cause.getMessage(), false); // a bad request (an unknown reward model) is not a crash
        return null;
      }
      if (error != null) {
        throw new CompletionException(cause);
      }
      reply.accept(result);
      return result;
    });
    getContext().pipeToSelf(future, (result, error) -> error == null ? new WorkDone(ticket) : new WorkFailed(ticket, error));
  }

  private Behavior<Command> onWorkFailed(WorkFailed m) {
    if (!inFlight.containsKey(m.ticket())) {
      return this;
    }
    Throwable cause = m.cause() instanceof CompletionException && m.cause().getCause() != null
        ? m.cause().getCause() : m.cause();
    throw new WorkerCrashed("reward work failed: " + cause.getMessage(), cause);
  }
}

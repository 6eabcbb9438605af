package dev.troupe.policy;

import dev.troupe.protocol.Ack;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.LogProbsRequest;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.WorkerEndpoint;
import dev.troupe.protocol.wire.WireMessage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
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
 * One frozen base and every loop's adapter at its published versions (a GPU each, in production):
 * samples rollouts, scores log-probs and swaps in adapter versions, all on the tensor dispatcher.
 * Work that throws crashes the worker, which restarts with back-off; every request in flight is then
 * answered with a retryable error, so its coordinator reissues it at once (same request id, same
 * rollout ids) instead of waiting out its timeout.
 */
public final class PolicyWorker extends AbstractBehavior<PolicyWorker.Command> {
  public sealed interface Command {}

  public record Generate(GenerateRequest request, ActorRef<RolloutBatch> replyTo) implements Command, WireMessage {}

  public record ScoreLogProbs(LogProbsRequest request, ActorRef<LogProbsBatch> replyTo) implements Command, WireMessage {}

  public record LoadAdapter(AdapterVersion version, ActorRef<Ack> replyTo) implements Command, WireMessage {}

  /** Where this worker's gRPC data plane listens; an empty endpoint: in this process only. */
  public record Describe(ActorRef<WorkerEndpoint> replyTo) implements Command, WireMessage {}

  private record WorkDone(long ticket) implements Command {}

  private record WorkFailed(long ticket, Throwable cause) implements Command {}

  /** Thrown to restart the worker when its tensor work failed; the cause says why. */
  static final class WorkerCrashed extends RuntimeException {
    WorkerCrashed(String message, Throwable cause) {
      super(message, cause);
    }
  }

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "policy-worker");

  private final PolicyBackend backend;
  private final Executor tensors;
  private final WorkerEndpoint endpoint;
  /** Each request in flight and how to tell its sender that it will not be answered by this incarnation. */
  private final Map<Long, Runnable> inFlight = new LinkedHashMap<>();
  private long tickets;

  public static Behavior<Command> create(PolicyBackend backend) {
    return create(backend, TENSOR_DISPATCHER, WorkerEndpoint.getDefaultInstance());
  }

  /**
   * A worker whose backend's work runs on {@code dispatcher} (the tensor dispatcher for a local model;
   * the remote dispatcher for a gRPC client of another member's worker, whose calls block on the network) and
   * that tells the pools discovering it where its data plane listens.
   */
  public static Behavior<Command> create(PolicyBackend backend, String dispatcher, WorkerEndpoint endpoint) {
    return Behaviors.supervise(Behaviors.<Command>setup(ctx -> new PolicyWorker(ctx, backend, dispatcher, endpoint)))
        .onFailure(WorkerCrashed.class,
            SupervisorStrategy.restartWithBackoff(Duration.ofMillis(100), Duration.ofSeconds(5), 0.2));
  }

  public static final String TENSOR_DISPATCHER = "troupe.tensor-dispatcher";
  public static final String REMOTE_DISPATCHER = "troupe.remote-dispatcher";

  private PolicyWorker(ActorContext<Command> context, PolicyBackend backend, String dispatcher,
      WorkerEndpoint endpoint) {
    super(context);
    this.backend = backend;
    this.tensors = context.getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(dispatcher));
    this.endpoint = endpoint;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Generate.class, this::onGenerate)
        .onMessage(ScoreLogProbs.class, this::onLogProbs)
        .onMessage(LoadAdapter.class, this::onLoadAdapter)
        .onMessage(Describe.class, m -> {
          m.replyTo().tell(endpoint);
          return this;
        })
        .onMessage(WorkDone.class, this::onWorkDone)
        .onMessage(WorkFailed.class, this::onWorkFailed)
        .onSignal(PreRestart.class, signal -> onPreRestart())
        .build();
  }

  private Behavior<Command> onGenerate(Generate m) {
    String id = m.request().getRequestId();
    run(() -> backend.generateAsync(m.request(), tensors), m.replyTo()::tell,
        error -> m.replyTo().tell(RolloutBatch.newBuilder().setRequestId(id).setError(error).setRetryable(true).build()));
    return this;
  }

  private Behavior<Command> onLogProbs(ScoreLogProbs m) {
    String id = m.request().getRequestId();
    run(() -> CompletableFuture.supplyAsync(() -> backend.logProbs(m.request()), tensors), m.replyTo()::tell,
        error -> m.replyTo().tell(LogProbsBatch.newBuilder().setRequestId(id).setError(error).setRetryable(true).build()));
    return this;
  }

  /** A bad version (checksum, shape, not newer) is refused with a reason; the worker keeps serving the old ones. */
  private Behavior<Command> onLoadAdapter(LoadAdapter m) {
    CompletableFuture.runAsync(() -> backend.load(m.version()), tensors).whenComplete((ok, error) ->
        m.replyTo().tell(error == null ? Ack.newBuilder().setOk(true).build()
            : Ack.newBuilder().setOk(false).setError(rootMessage(error)).build()));
    return this;
  }

  /**
   * Starts {@code work} (on the tensor dispatcher) and replies with its result; a failure is answered by
   * crashing this worker (see the class comment), which answers every request in flight with an error.
   */
  private <T> void run(Supplier<CompletableFuture<T>> work, java.util.function.Consumer<T> reply,
      java.util.function.Consumer<String> refuse) {
    long ticket = tickets++;
    inFlight.put(ticket, () -> refuse.accept("policy worker " + getContext().getSelf().path().name() + " restarted"));
    CompletableFuture<T> started;
    try {
      started = work.get();
    } catch (RuntimeException e) {
      started = CompletableFuture.failedFuture(e);
    }
    CompletableFuture<T> future = started.handle((result, error) -> {
      Throwable cause = unwrap(error);
      if (cause instanceof IllegalArgumentException) {
        refuse.accept(cause.getMessage()); // a bad request (an unknown adapter, an empty prompt) is not a crash
        return null;
      }
      if (error != null) {
        throw new java.util.concurrent.CompletionException(cause);
      }
      reply.accept(result);
      return result;
    });
    getContext().pipeToSelf(future, (result, error) -> error == null ? new WorkDone(ticket) : new WorkFailed(ticket, error));
  }

  private Behavior<Command> onWorkDone(WorkDone m) {
    inFlight.remove(m.ticket());
    return this;
  }

  private Behavior<Command> onWorkFailed(WorkFailed m) {
    if (!inFlight.containsKey(m.ticket())) {
      return this; // work of an earlier incarnation: its sender was answered when that one restarted
    }
    throw new WorkerCrashed("policy work failed: " + rootMessage(m.cause()), m.cause());
  }

  private Behavior<Command> onPreRestart() {
    getContext().getLog().warn("policy worker restarting; answering {} requests in flight with a retryable error",
        inFlight.size());
    inFlight.values().forEach(Runnable::run);
    inFlight.clear();
    return this;
  }

  static Throwable unwrap(Throwable error) {
    Throwable t = error;
    while (t != null && t.getCause() != null && (t instanceof java.util.concurrent.CompletionException
        || t instanceof java.util.concurrent.ExecutionException)) {
      t = t.getCause();
    }
    return t;
  }

  static String rootMessage(Throwable error) {
    Throwable t = unwrap(error);
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}

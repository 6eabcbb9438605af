package dev.troupe.actors.cluster;

import dev.troupe.protocol.WorkerEndpoint;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * Every worker of one role in the cluster, as one worker: a loop sends it the workers' own protocol
 * and never knows how many there are or where. The pool finds workers through the receptionist
 * (those of this process directly, those of other nodes through a local stand-in that speaks their
 * gRPC data plane), sends each piece of work to the ready worker with the least in flight, and
 * sends work again to another worker when its worker left the cluster, became unreachable or
 * restarted. Messages that change every worker's state (an adapter version, a reward model's
 * training step) go to every worker and are kept, so that a worker that joins later is brought to
 * the same state before it takes work. With no worker at all, work is refused at once with a
 * retryable error that says so, and the loops wait, showing why.
 *
 * @param <C> the workers' protocol (the pool's own messages are private to it)
 */
public final class WorkerPool<C> extends AbstractBehavior<Object> {

  /** How a pool speaks one worker protocol. */
  public interface Protocol<C> {
    /** "policy" or "reward": in messages and names. */
    String role();

    ServiceKey<C> key();

    Class<C> commandType();

    /** Whether the message changes every worker's state (else it is work for one worker). */
    boolean isBroadcast(C message);

    /**
     * Adds a broadcast message that took effect to those kept for workers that join (dropping those it
     * makes obsolete).
     */
    void retain(List<C> retained, C message);

    /** Whether a broadcast may be sent again to a worker that failed to answer it (applying it twice is harmless). */
    boolean idempotentBroadcast();

    /** The same message with its answer going to {@code replyTo}. */
    C forward(C message, ActorRef<Object> replyTo);

    /** Tells the message's sender {@code answer}. */
    void reply(C message, Object answer);

    /** Tells the message's sender it was not done, with {@code why}; the sender may try again. */
    void refuse(C message, String why);

    /** Whether an answer says the worker failed in a way another worker might not (it restarted, it was unreachable). */
    boolean retryable(Object answer);

    /** The refusal in a broadcast's answer, or null when the worker applied it. */
    String failure(Object answer);

    /** The answer to a broadcast when no worker is there to apply it; empty: refuse it. */
    Optional<Object> answerWithoutWorkers(C message);

    C describe(ActorRef<WorkerEndpoint> replyTo);

    /** A local stand-in for a remote worker that speaks its gRPC data plane, and the client to close with it. */
    Proxy<C> proxy(WorkerEndpoint endpoint);
  }

  public record Proxy<C>(Behavior<C> behavior, AutoCloseable client) {}

  /** The pool's view of its workers, for the campaign's status. */
  public record GetWorkers(ActorRef<List<String>> replyTo) {}

  private record ListingChanged(Receptionist.Listing listing) {}

  private record Described(ActorRef<?> worker, WorkerEndpoint endpoint, Throwable error) {}

  private record WorkAnswered(long ticket, Object answer, Throwable error) {}

  private record Applied(ActorRef<?> worker, long sequence, Object answer, Throwable error) {}

  private record ApplyAgain(ActorRef<?> worker) {}

  private record DescribeAgain(ActorRef<?> worker) {}

  private record Stopped(ActorRef<?> worker) {}

  /** A broadcast message under way: the workers that have not answered yet. */
  private final class Broadcast {
    final long sequence;
    final C message;
    final Set<ActorRef<?>> waiting = new HashSet<>();
    final Map<ActorRef<?>, Object> answers = new LinkedHashMap<>();

    Broadcast(long sequence, C message) {
      this.sequence = sequence;
      this.message = message;
    }
  }

  private record Queued<C>(long sequence, C message) {}

  private final class Member {
    final ActorRef<C> registered;
    final String name;
    ActorRef<C> target;
    AutoCloseable client;
    final Deque<Queued<C>> toApply = new ArrayDeque<>();
    boolean applying;
    boolean caughtUp;
    boolean broken;
    int inFlight;
    long avoidUntilMs;
    int proxies;

    Member(ActorRef<C> registered) {
      this.registered = registered;
      this.name = nameOf(registered);
    }

    boolean ready() {
      return target != null && caughtUp && !broken;
    }
  }

  private record Pending<C>(C message, int attempts) {}

  private static final int MAX_ATTEMPTS = 4;
  private static final Duration DESCRIBE_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration AVOID_AFTER_FAILURE = Duration.ofSeconds(2);

  private final Protocol<C> protocol;
  private final Duration askTimeout;
  private final TimerScheduler<Object> timers;
  private final Map<ActorRef<?>, Member> members = new LinkedHashMap<>();
  private final List<C> retained = new ArrayList<>();
  private final Map<Long, Broadcast> broadcasts = new LinkedHashMap<>();
  private final Map<Long, Pending<C>> pending = new LinkedHashMap<>();
  private final Map<Long, Member> pendingOn = new LinkedHashMap<>();
  private final Deque<Pending<C>> waitingForReady = new ArrayDeque<>();
  private long tickets;
  private long sequences;

  /**
   * @param local this process's workers of the role, used at once (the receptionist lists them too,
   *     a moment later)
   */
  public static <C> Behavior<C> create(Protocol<C> protocol, Duration askTimeout, List<ActorRef<C>> local) {
    Behavior<Object> pool = Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new WorkerPool<>(ctx, timers, protocol, askTimeout, local)));
    return pool.narrow();
  }

  private WorkerPool(ActorContext<Object> context, TimerScheduler<Object> timers, Protocol<C> protocol,
      Duration askTimeout, List<ActorRef<C>> local) {
    super(context);
    this.protocol = protocol;
    this.askTimeout = askTimeout;
    this.timers = timers;
    local.forEach(this::join);
    ActorRef<Receptionist.Listing> listings = context.messageAdapter(Receptionist.Listing.class, ListingChanged::new);
    context.getSystem().receptionist().tell(Receptionist.subscribe(protocol.key(), listings));
  }

  @Override
  public Receive<Object> createReceive() {
    return newReceiveBuilder()
        .onMessage(ListingChanged.class, this::onListing)
        .onMessage(Described.class, this::onDescribed)
        .onMessage(WorkAnswered.class, this::onWorkAnswered)
        .onMessage(Applied.class, this::onApplied)
        .onMessage(ApplyAgain.class, m -> {
          Member member = members.get(m.worker());
          if (member != null) {
            applyNext(member);
          }
          return this;
        })
        .onMessage(DescribeAgain.class, m -> {
          Member member = members.get(m.worker());
          if (member != null && member.target == null) {
            askEndpoint(member.registered);
          }
          return this;
        })
        .onMessage(Stopped.class, m -> {
          leave(m.worker(), "it stopped");
          return this;
        })
        .onMessage(GetWorkers.class, m -> {
          m.replyTo().tell(members.values().stream()
              .map(w -> w.name + (w.broken ? " (out of step: not used)" : w.ready() ? "" : " (joining)")).toList());
          return this;
        })
        .onMessage(protocol.commandType(), this::onCommand)
        .onSignal(PostStop.class, signal -> {
          members.values().forEach(this::closeClient);
          return this;
        })
        .build();
  }

  // ---- membership --------------------------------------------------------------------------------

  private Behavior<Object> onListing(ListingChanged m) {
    Set<ActorRef<C>> listed = m.listing().getServiceInstances(protocol.key());
    for (ActorRef<C> worker : listed) {
      if (!members.containsKey(worker)) {
        join(worker);
      }
    }
    for (ActorRef<?> worker : List.copyOf(members.keySet())) {
      // A worker of this process leaves when it stops (watched); one of another node when it is no longer
      // listed as reachable.
      if (!isLocal(worker) && !listed.contains(worker)) {
        leave(worker, "it left the cluster or became unreachable");
      }
    }
    return this;
  }

  private static boolean isLocal(ActorRef<?> worker) {
    return worker.path().address().hasLocalScope();
  }

  private void join(ActorRef<C> worker) {
    Member member = new Member(worker);
    members.put(worker, member);
    if (departed.contains(worker) && !protocol.idempotentBroadcast()) {
      // Reachable again after it was given up: it may have applied changes its replay would apply twice.
      member.broken = true;
      getContext().getLog().warn("{} worker {} is reachable again, but out of step with the campaign: it takes"
          + " no work until it restarts", protocol.role(), member.name);
      return;
    }
    getContext().watchWith(worker, new Stopped(worker));
    if (isLocal(worker)) {
      connected(member, worker);
      return;
    }
    askEndpoint(worker);
  }

  private void askEndpoint(ActorRef<C> worker) {
    getContext().ask(WorkerEndpoint.class, worker, DESCRIBE_TIMEOUT, protocol::describe,
        (endpoint, error) -> new Described(worker, endpoint, error));
  }

  /** Workers that left: one that comes back (a false alarm of the failure detector) is the same incarnation. */
  private final Set<ActorRef<?>> departed = new HashSet<>();

  private Behavior<Object> onDescribed(Described m) {
    Member member = members.get(m.worker());
    if (member == null) {
      return this;
    }
    if (m.error() != null) {
      getContext().getLog().warn("{} worker {} did not say where its data plane listens ({}); asking again",
          protocol.role(), member.name, m.error().getMessage());
      timers.startSingleTimer(new DescribeAgain(member.registered), Duration.ofSeconds(1));
      return this;
    }
    if (m.endpoint().getGrpcPort() == 0) {
      // A worker without a data plane is reached over remoting: slower, but it works.
      connected(member, member.registered);
      return this;
    }
    Proxy<C> proxy = protocol.proxy(m.endpoint());
    member.client = proxy.client();
    ActorRef<C> target = getContext().spawn(proxy.behavior(),
        protocol.role() + "-via-grpc-" + (member.proxies++) + "-" + sanitize(m.endpoint().getHost() + "-"
            + m.endpoint().getGrpcPort()));
    getContext().getLog().info("{} worker {} joined: its data plane is {}:{}", protocol.role(), member.name,
        m.endpoint().getHost(), m.endpoint().getGrpcPort());
    connected(member, target);
    return this;
  }

  private static String sanitize(String s) {
    return s.replaceAll("[^A-Za-z0-9_-]", "_");
  }

  /** The worker can be reached: it first applies every kept broadcast and those under way, then takes work. */
  private void connected(Member member, ActorRef<C> target) {
    member.target = target;
    for (C message : retained) {
      member.toApply.add(new Queued<>(-1, message));
    }
    for (Broadcast b : broadcasts.values()) {
      member.toApply.add(new Queued<>(b.sequence, b.message));
      b.waiting.add(member.registered);
    }
    applyNext(member);
  }

  private void leave(ActorRef<?> worker, String why) {
    Member member = members.remove(worker);
    if (member == null) {
      return;
    }
    departed.add(worker);
    getContext().unwatch(worker);
    getContext().getLog().warn("{} worker {} is gone ({}); {} requests in flight on it go to another worker",
        protocol.role(), member.name, why, pendingOnCount(member));
    closeClient(member);
    handOver(member);
    if (members.isEmpty()) {
      refuseWaiting();
    }
  }

  private long pendingOnCount(Member member) {
    return pendingOn.values().stream().filter(m -> m == member).count();
  }

  private void closeClient(Member member) {
    if (member.target != null && member.target != member.registered) {
      getContext().stop(member.target);
    }
    if (member.client != null) {
      try {
        member.client.close();
      } catch (Exception e) {
        getContext().getLog().debug("closing the client of {}: {}", member.name, e.getMessage());
      }
      member.client = null;
    }
  }

  // ---- work and broadcasts -----------------------------------------------------------------------

  private Behavior<Object> onCommand(C message) {
    if (protocol.isBroadcast(message)) {
      broadcast(message);
    } else {
      route(new Pending<>(message, 0));
    }
    return this;
  }

  private void route(Pending<C> p) {
    Member best = null;
    long now = System.currentTimeMillis();
    for (Member m : members.values()) {
      if (!m.ready()) {
        continue;
      }
      boolean avoided = m.avoidUntilMs > now;
      boolean bestAvoided = best != null && best.avoidUntilMs > now;
      if (best == null || (bestAvoided && !avoided) || (avoided == bestAvoided && m.inFlight < best.inFlight)) {
        best = m;
      }
    }
    if (best == null) {
      if (members.values().stream().anyMatch(m -> !m.broken)) {
        waitingForReady.add(p); // a worker is joining: it takes this once it caught up
      } else {
        protocol.refuse(p.message(), noWorker());
      }
      return;
    }
    Member member = best;
    long ticket = tickets++;
    pending.put(ticket, p);
    pendingOn.put(ticket, member);
    member.inFlight++;
    getContext().ask(Object.class, member.target, askTimeout, replyTo -> protocol.forward(p.message(), replyTo),
        (answer, error) -> new WorkAnswered(ticket, answer, error));
  }

  private String noWorker() {
    return "no " + protocol.role() + " worker in the cluster" + (members.isEmpty() ? "" : " that can take work ("
        + members.size() + " out of step with the campaign)") + ": waiting for one to join";
  }

  private void refuseWaiting() {
    while (!waitingForReady.isEmpty()) {
      protocol.refuse(waitingForReady.poll().message(), noWorker());
    }
  }

  private Behavior<Object> onWorkAnswered(WorkAnswered m) {
    Pending<C> p = pending.remove(m.ticket());
    Member member = pendingOn.remove(m.ticket());
    if (p == null) {
      return this; // answered late by a worker that left: the work went elsewhere
    }
    if (member != null) {
      member.inFlight--;
    }
    boolean failed = m.error() != null || protocol.retryable(m.answer());
    if (failed && p.attempts() + 1 < MAX_ATTEMPTS) {
      if (member != null) {
        member.avoidUntilMs = System.currentTimeMillis() + AVOID_AFTER_FAILURE.toMillis();
        getContext().getLog().warn("{} worker {} failed a request ({}); sending it to {}", protocol.role(),
            member.name, m.error() != null ? m.error().getMessage() : "it restarted",
            members.size() > 1 ? "another worker" : "it again");
      }
      route(new Pending<>(p.message(), p.attempts() + 1));
      return this;
    }
    if (m.error() != null) {
      protocol.refuse(p.message(), protocol.role() + " worker " + (member == null ? "?" : member.name) + ": "
          + m.error().getMessage());
    } else {
      protocol.reply(p.message(), m.answer());
    }
    return this;
  }

  private void broadcast(C message) {
    List<Member> reachable = members.values().stream().filter(m -> m.target != null && !m.broken).toList();
    if (reachable.isEmpty()) {
      Optional<Object> answer = protocol.answerWithoutWorkers(message);
      if (answer.isPresent()) {
        protocol.retain(retained, message);
        protocol.reply(message, answer.get());
      } else {
        protocol.refuse(message, noWorker());
      }
      return;
    }
    Broadcast b = new Broadcast(sequences++, message);
    broadcasts.put(b.sequence, b);
    for (Member member : reachable) {
      b.waiting.add(member.registered);
      member.toApply.add(new Queued<>(b.sequence, message));
      applyNext(member);
    }
  }

  private void applyNext(Member member) {
    if (member.applying || member.broken || member.target == null) {
      return;
    }
    Queued<C> next = member.toApply.peekFirst();
    if (next == null) {
      if (!member.caughtUp) {
        member.caughtUp = true;
        getContext().getLog().info("{} worker {} caught up with the campaign and takes work", protocol.role(),
            member.name);
        while (!waitingForReady.isEmpty()) {
          route(waitingForReady.poll());
        }
      }
      return;
    }
    member.applying = true;
    ActorRef<?> worker = member.registered;
    getContext().ask(Object.class, member.target, askTimeout, replyTo -> protocol.forward(next.message(), replyTo),
        (answer, error) -> new Applied(worker, next.sequence(), answer, error));
  }

  private Behavior<Object> onApplied(Applied m) {
    Member member = members.get(m.worker());
    if (member == null) {
      return this;
    }
    member.applying = false;
    Queued<C> applied = member.toApply.peekFirst();
    boolean failed = m.error() != null || protocol.retryable(m.answer());
    if (failed) {
      String why = m.error() != null ? m.error().getMessage() : protocol.failure(m.answer());
      if (protocol.idempotentBroadcast()) {
        getContext().getLog().warn("{} worker {} did not apply a change ({}); sending it again", protocol.role(),
            member.name, why);
        timers.startSingleTimer(new ApplyAgain(m.worker()), AVOID_AFTER_FAILURE);
        return this;
      }
      // Sending it again could apply it twice: the worker is out of step and takes no more work.
      outOfStep(member, why);
      return this;
    }
    member.toApply.pollFirst();
    if (applied != null && applied.sequence() < 0 && protocol.failure(m.answer()) != null) {
      outOfStep(member, "replaying the campaign's changes: " + protocol.failure(m.answer()));
      return this;
    }
    if (applied != null && applied.sequence() >= 0) {
      Broadcast b = broadcasts.get(applied.sequence());
      if (b != null && b.waiting.remove(m.worker())) {
        b.answers.put(m.worker(), m.answer());
        completeIfAnswered(b);
      }
    }
    applyNext(member);
    return this;
  }

  /**
   * A broadcast every worker answered (or left). Refused by all (a version whose checksum does not
   * match is refused by every worker alike): its sender hears the refusal and nothing is kept. Applied
   * by some: the sender hears it applied, and the workers that refused it are out of step and take no
   * more work.
   */
  private void completeIfAnswered(Broadcast b) {
    if (!b.waiting.isEmpty()) {
      return;
    }
    broadcasts.remove(b.sequence);
    if (b.answers.isEmpty()) {
      Optional<Object> answer = protocol.answerWithoutWorkers(b.message);
      if (answer.isPresent()) {
        protocol.retain(retained, b.message);
        protocol.reply(b.message, answer.get());
      } else {
        protocol.refuse(b.message, noWorker());
      }
      return;
    }
    Object applied = null;
    Object refused = null;
    for (Object answer : b.answers.values()) {
      if (protocol.failure(answer) == null) {
        applied = applied == null ? answer : applied;
      } else {
        refused = refused == null ? answer : refused;
      }
    }
    if (applied == null) {
      protocol.reply(b.message, refused);
      return;
    }
    b.answers.forEach((worker, answer) -> {
      Member member = members.get(worker);
      if (member != null && protocol.failure(answer) != null) {
        outOfStep(member, protocol.failure(answer));
      }
    });
    protocol.retain(retained, b.message);
    protocol.reply(b.message, applied);
  }

  /** A worker whose state differs from the others' takes no more work; its work in flight goes elsewhere. */
  private void outOfStep(Member member, String why) {
    getContext().getLog().error("{} worker {} is out of step with the campaign ({}); it takes no more work until"
        + " it restarts", protocol.role(), member.name, why);
    member.broken = true;
    handOver(member);
    if (members.values().stream().allMatch(m -> m.broken)) {
      refuseWaiting();
    }
  }

  /** A worker that takes no more work: broadcasts stop waiting for it, and its requests in flight go to another. */
  private void handOver(Member member) {
    for (Broadcast b : List.copyOf(broadcasts.values())) {
      if (b.waiting.remove(member.registered)) {
        completeIfAnswered(b);
      }
    }
    for (Map.Entry<Long, Member> e : List.copyOf(pendingOn.entrySet())) {
      if (e.getValue() == member) {
        pendingOn.remove(e.getKey());
        Pending<C> p = pending.remove(e.getKey());
        if (p != null) {
          route(p);
        }
      }
    }
  }

  private static String nameOf(ActorRef<?> worker) {
    return worker.path().name() + (worker.path().address().hasGlobalScope() ? "@" + worker.path().address()
        .getHost().orElse("?") + ":" + worker.path().address().getPort().orElse(0) : "");
  }
}

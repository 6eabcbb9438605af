package dev.troupe.actors.cluster;

import com.typesafe.config.Config;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.policy.grpc.PolicyClient;
import dev.troupe.protocol.Ack;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.LogProbsBatch;
import dev.troupe.protocol.RolloutBatch;
import dev.troupe.protocol.WorkerEndpoint;
import dev.troupe.protocol.grpc.ClientSettings;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The campaign's policy workers as one {@link PolicyWorker}: generation and log-probs go to one worker,
 * adapter versions to all, and a worker that joins is first sent each loop's kept versions, oldest
 * first.
 */
public final class PolicyPool implements WorkerPool.Protocol<PolicyWorker.Command> {
  private final int versionsKept;
  private final Config config;

  private PolicyPool(int versionsKept, Config config) {
    this.versionsKept = versionsKept;
    this.config = config;
  }

  /**
   * @param versionsKept the versions of each loop's adapter a worker that joins is given (batches in
   *     flight may sample older versions than the newest)
   * @param config where remote workers' gRPC client settings are read ({@code troupe.grpc})
   */
  public static Behavior<PolicyWorker.Command> create(int versionsKept, Config config, Duration askTimeout,
      List<ActorRef<PolicyWorker.Command>> local) {
    return WorkerPool.create(new PolicyPool(versionsKept, config), askTimeout, local);
  }

  @Override
  public String role() {
    return "policy";
  }

  @Override
  public ServiceKey<PolicyWorker.Command> key() {
    return PolicyWorker.KEY;
  }

  @Override
  public Class<PolicyWorker.Command> commandType() {
    return PolicyWorker.Command.class;
  }

  @Override
  public boolean isBroadcast(PolicyWorker.Command message) {
    return message instanceof PolicyWorker.LoadAdapter;
  }

  /** A version replaces the newer ones of its adapter (a resumed learner rewinds), and the oldest beyond the limit go. */
  @Override
  public void retain(List<PolicyWorker.Command> retained, PolicyWorker.Command message) {
    AdapterVersion version = ((PolicyWorker.LoadAdapter) message).version();
    retained.removeIf(m -> m instanceof PolicyWorker.LoadAdapter l && l.version().getAdapter().equals(version.getAdapter())
        && l.version().getVersion() >= version.getVersion());
    retained.add(message);
    List<PolicyWorker.Command> same = retained.stream().filter(m -> ((PolicyWorker.LoadAdapter) m).version()
        .getAdapter().equals(version.getAdapter())).toList();
    for (int i = 0; i < same.size() - versionsKept; i++) {
      retained.remove(same.get(i));
    }
  }

  @Override
  public boolean idempotentBroadcast() {
    return true; // the same version again is a no-op for a worker
  }

  @Override
  public PolicyWorker.Command forward(PolicyWorker.Command message, ActorRef<Object> replyTo) {
    if (message instanceof PolicyWorker.Generate m) {
      return new PolicyWorker.Generate(m.request(), replyTo.narrow());
    }
    if (message instanceof PolicyWorker.ScoreLogProbs m) {
      return new PolicyWorker.ScoreLogProbs(m.request(), replyTo.narrow());
    }
    if (message instanceof PolicyWorker.LoadAdapter m) {
      return new PolicyWorker.LoadAdapter(m.version(), replyTo.narrow());
    }
    if (message instanceof PolicyWorker.Describe) {
      return new PolicyWorker.Describe(replyTo.narrow());
    }
    throw new IllegalArgumentException("a policy pool does not forward " + message.getClass().getSimpleName());
  }

  @Override
  public void reply(PolicyWorker.Command message, Object answer) {
    if (message instanceof PolicyWorker.Generate m) {
      m.replyTo().tell((RolloutBatch) answer);
    } else if (message instanceof PolicyWorker.ScoreLogProbs m) {
      m.replyTo().tell((LogProbsBatch) answer);
    } else if (message instanceof PolicyWorker.LoadAdapter m) {
      m.replyTo().tell((Ack) answer);
    } else if (message instanceof PolicyWorker.Describe m) {
      m.replyTo().tell((WorkerEndpoint) answer);
    }
  }

  @Override
  public void refuse(PolicyWorker.Command message, String why) {
    if (message instanceof PolicyWorker.Generate m) {
      m.replyTo().tell(RolloutBatch.newBuilder().setRequestId(m.request().getRequestId()).setError(why)
          .setRetryable(true).build());
    } else if (message instanceof PolicyWorker.ScoreLogProbs m) {
      m.replyTo().tell(LogProbsBatch.newBuilder().setRequestId(m.request().getRequestId()).setError(why)
          .setRetryable(true).build());
    } else if (message instanceof PolicyWorker.LoadAdapter m) {
      m.replyTo().tell(Ack.newBuilder().setOk(false).setError(why).build());
    } else if (message instanceof PolicyWorker.Describe m) {
      m.replyTo().tell(WorkerEndpoint.getDefaultInstance());
    }
  }

  @Override
  public boolean retryable(Object answer) {
    return answer instanceof RolloutBatch rollouts && rollouts.getRetryable()
        || answer instanceof LogProbsBatch logProbs && logProbs.getRetryable();
  }

  @Override
  public String failure(Object answer) {
    return answer instanceof Ack ack && !ack.getOk() ? ack.getError() : null;
  }

  @Override
  public Optional<Object> answerWithoutWorkers(PolicyWorker.Command message) {
    return Optional.of(Ack.newBuilder().setOk(true).setDetail("kept for the policy workers that join").build());
  }

  @Override
  public PolicyWorker.Command describe(ActorRef<WorkerEndpoint> replyTo) {
    return new PolicyWorker.Describe(replyTo);
  }

  @Override
  public WorkerPool.Proxy<PolicyWorker.Command> proxy(WorkerEndpoint endpoint) {
    PolicyClient client = new PolicyClient(ClientSettings.fromConfig(config, endpoint.getHost(), endpoint.getGrpcPort()));
    return new WorkerPool.Proxy<>(PolicyWorker.create(client, PolicyWorker.REMOTE_DISPATCHER, endpoint), client);
  }
}

package dev.troupe.actors.cluster;

import com.typesafe.config.Config;
import dev.troupe.policy.PolicyWorker;
import dev.troupe.protocol.RewardTrainResult;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.WorkerEndpoint;
import dev.troupe.protocol.grpc.ClientSettings;
import dev.troupe.reward.RewardWorker;
import dev.troupe.reward.grpc.RewardClient;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The campaign's reward workers as one {@link RewardWorker}: scoring goes to one worker; a loop's
 * reward model learns each training step on every worker (the same step from the same state: the
 * workers' copies stay equal), and a worker that joins first retrains on every step so far, in order.
 * A worker that failed a step while others took it is out of step and takes no more work: training it
 * again could apply a step twice.
 */
public final class RewardPool implements WorkerPool.Protocol<RewardWorker.Command> {
  private final Config config;

  private RewardPool(Config config) {
    this.config = config;
  }

  public static Behavior<RewardWorker.Command> create(Config config, Duration askTimeout,
      List<ActorRef<RewardWorker.Command>> local) {
    return WorkerPool.create(new RewardPool(config), askTimeout, local);
  }

  @Override
  public String role() {
    return "reward";
  }

  @Override
  public ServiceKey<RewardWorker.Command> key() {
    return RewardWorker.KEY;
  }

  @Override
  public Class<RewardWorker.Command> commandType() {
    return RewardWorker.Command.class;
  }

  @Override
  public boolean isBroadcast(RewardWorker.Command message) {
    return message instanceof RewardWorker.Train;
  }

  @Override
  public void retain(List<RewardWorker.Command> retained, RewardWorker.Command message) {
    retained.add(message);
  }

  @Override
  public boolean idempotentBroadcast() {
    return false;
  }

  @Override
  public RewardWorker.Command forward(RewardWorker.Command message, ActorRef<Object> replyTo) {
    if (message instanceof RewardWorker.Score m) {
      return new RewardWorker.Score(m.request(), replyTo.narrow());
    }
    if (message instanceof RewardWorker.Train m) {
      return new RewardWorker.Train(m.request(), replyTo.narrow());
    }
    if (message instanceof RewardWorker.Describe) {
      return new RewardWorker.Describe(replyTo.narrow());
    }
    throw new IllegalArgumentException("a reward pool does not forward " + message.getClass().getSimpleName());
  }

  @Override
  public void reply(RewardWorker.Command message, Object answer) {
    if (message instanceof RewardWorker.Score m) {
      m.replyTo().tell((ScoreBatch) answer);
    } else if (message instanceof RewardWorker.Train m) {
      m.replyTo().tell((RewardTrainResult) answer);
    } else if (message instanceof RewardWorker.Describe m) {
      m.replyTo().tell((WorkerEndpoint) answer);
    }
  }

  @Override
  public void refuse(RewardWorker.Command message, String why) {
    if (message instanceof RewardWorker.Score m) {
      m.replyTo().tell(ScoreBatch.newBuilder().setRequestId(m.request().getRequestId()).setError(why)
          .setRetryable(true).build());
    } else if (message instanceof RewardWorker.Train m) {
      m.replyTo().tell(RewardTrainResult.newBuilder().setRequestId(m.request().getRequestId()).setError(why).build());
    } else if (message instanceof RewardWorker.Describe m) {
      m.replyTo().tell(WorkerEndpoint.getDefaultInstance());
    }
  }

  @Override
  public boolean retryable(Object answer) {
    return answer instanceof ScoreBatch b && b.getRetryable();
  }

  @Override
  public String failure(Object answer) {
    return answer instanceof RewardTrainResult r && !r.getError().isEmpty() ? r.getError() : null;
  }

  @Override
  public Optional<Object> answerWithoutWorkers(RewardWorker.Command message) {
    return Optional.empty(); // a training step needs a worker to take it
  }

  @Override
  public RewardWorker.Command describe(ActorRef<WorkerEndpoint> replyTo) {
    return new RewardWorker.Describe(replyTo);
  }

  @Override
  public WorkerPool.Proxy<RewardWorker.Command> proxy(WorkerEndpoint endpoint) {
    RewardClient client = new RewardClient(ClientSettings.fromConfig(config, endpoint.getHost(), endpoint.getGrpcPort()));
    return new WorkerPool.Proxy<>(RewardWorker.create(client, PolicyWorker.REMOTE_DISPATCHER, endpoint), client);
  }
}

package dev.troupe.actors.campaign;

import dev.troupe.protocol.CampaignControlReply;
import dev.troupe.protocol.CampaignControlRequest;
import dev.troupe.protocol.CampaignStatus;
import dev.troupe.protocol.grpc.CampaignControl;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * CampaignService's requests (status, pause, resume, stop) as questions to the campaign's guardian,
 * answered within a timeout. Its gRPC server may start before the guardian does: until
 * {@link #connect}, every request fails naming why.
 */
public final class CampaignControls implements CampaignControl {
  private final Duration timeout;
  private volatile ActorSystem<?> system;
  private volatile ActorRef<CampaignGuardian.Command> guardian;

  public CampaignControls(Duration timeout) {
    this.timeout = timeout;
  }

  public void connect(ActorSystem<?> system, ActorRef<CampaignGuardian.Command> guardian) {
    this.system = system;
    this.guardian = guardian;
  }

  @Override
  public CampaignStatus status() {
    return ask(r -> new CampaignGuardian.GetStatus(r));
  }

  @Override
  public CampaignControlReply pause(CampaignControlRequest request) {
    return ask(r -> new CampaignGuardian.Pause(request, r));
  }

  @Override
  public CampaignControlReply resume(CampaignControlRequest request) {
    return ask(r -> new CampaignGuardian.Resume(request, r));
  }

  @Override
  public CampaignControlReply stop(CampaignControlRequest request) {
    return ask(r -> new CampaignGuardian.Stop(request, r));
  }

  private <T> T ask(java.util.function.Function<ActorRef<T>, CampaignGuardian.Command> message) {
    ActorRef<CampaignGuardian.Command> target = guardian;
    if (target == null) {
      throw new IllegalStateException("the campaign is starting: its guardian does not answer yet");
    }
    try {
      return AskPattern.<CampaignGuardian.Command, T>ask(target, message::apply, timeout, system.scheduler())
          .toCompletableFuture().get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException("the campaign's guardian did not answer within " + timeout.toSeconds() + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while asking the campaign's guardian", e);
    }
  }
}

package dev.troupe.actors.node;

import dev.troupe.protocol.Ack;
import dev.troupe.protocol.CampaignEnded;
import dev.troupe.protocol.wire.WireMessage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * The root of a cluster member: starts its worker node (policy and reward roles that the coordinator
 * in this process does not already serve) and ends the member when the campaign's coordinator says
 * the campaign is over, so that every member of a finished campaign exits.
 */
public final class NodeGuardian extends AbstractBehavior<NodeGuardian.Command> {
  public interface Command {}

  public record End(CampaignEnded ended, ActorRef<Ack> replyTo) implements Command, WireMessage {}

  public static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "troupe-node");

  /** @param workers this member's worker node, or null when it has none */
  public static Behavior<Command> create(WorkerNode.Settings workers) {
    return Behaviors.setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.register(KEY, ctx.getSelf()));
      if (workers != null) {
        ctx.spawn(WorkerNode.create(workers), "workers");
      }
      return new NodeGuardian(ctx);
    });
  }

  private NodeGuardian(ActorContext<Command> context) {
    super(context);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(End.class, m -> {
          getContext().getLog().info("campaign {} ended ({}): this member leaves the cluster", m.ended().getCampaign(),
              m.ended().getSucceeded() ? "every loop done" : "not every loop done");
          m.replyTo().tell(Ack.newBuilder().setOk(true).build());
          // Leave the cluster properly (the others see this member removed, not unreachable), then stop.
          org.apache.pekko.actor.CoordinatedShutdown.get(getContext().getSystem())
              .runAll(org.apache.pekko.actor.CoordinatedShutdown.clusterLeavingReason());
          return this;
        })
        .build();
  }
}

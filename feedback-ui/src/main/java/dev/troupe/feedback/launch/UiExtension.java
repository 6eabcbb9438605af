package dev.troupe.feedback.launch;

import dev.troupe.actors.campaign.CampaignExtension;
import dev.troupe.actors.config.UiSettings;
import dev.troupe.actors.feedback.FeedbackCollector;
import dev.troupe.feedback.server.FeedbackServer;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Serves the feedback UI beside a campaign run in this process ({@code troupe run}): the server starts
 * with the campaign, finds the campaign's {@link FeedbackCollector} through the receptionist once the
 * setup has spawned it (until then raters are told no task is due yet), and stops with the campaign.
 */
public final class UiExtension implements CampaignExtension {

  @Override
  public AutoCloseable start(Context context) {
    UiSettings ui = context.config().ui();
    if (!ui.enabled()) {
      return () -> { };
    }
    AtomicReference<ActorRef<FeedbackCollector.Command>> collector = new AtomicReference<>();
    context.system().systemActorOf(Behaviors.<Receptionist.Listing>setup(ctx -> {
      ctx.getSystem().receptionist().tell(Receptionist.subscribe(FeedbackCollector.KEY, ctx.getSelf()));
      return Behaviors.receiveMessage(listing -> {
        listing.getServiceInstances(FeedbackCollector.KEY).stream().findFirst().ifPresent(collector::set);
        return Behaviors.same();
      });
    }), "feedback-ui-lookup", Props.empty());
    FeedbackServer server = FeedbackServer.start(context.system(), context.store(), collector::get, context.config(),
        ui.host(), ui.port());
    context.events().notice("feedback UI at " + server.url() + " (accounts: troupe admin create-user --run-dir "
        + context.runDir() + ")");
    return server;
  }
}

package dev.troupe.actors.campaign;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.store.CampaignStore;
import java.nio.file.Path;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Something that runs beside a campaign in its process and stops with it, found with
 * {@link java.util.ServiceLoader} (a module on the class path lists its implementation in
 * {@code META-INF/services/dev.troupe.actors.campaign.CampaignExtension}): the feedback UI's HTTP server
 * is one. {@link Campaign#start} starts each after the actor system and closes it before the system stops.
 */
public interface CampaignExtension {

  /** What a running campaign offers its extensions. */
  record Context(CampaignConfig config, Path runDir, CampaignStore store, ActorSystem<?> system,
      CampaignEvents events) {}

  /**
   * Starts beside the campaign; the returned handle stops it. A failure here is reported as a notice
   * and the campaign runs on without this extension (training never waits for a web page).
   */
  AutoCloseable start(Context context) throws Exception;
}

package dev.troupe.actors.campaign;

import dev.troupe.actors.config.CampaignConfig;
import java.nio.file.Path;
import java.util.Arrays;

/** A campaign in a child JVM (for the kill test): {@code <run dir> <key=value>...}. */
public final class CampaignChild {
  private CampaignChild() {}

  public static void main(String[] args) throws Exception {
    CampaignConfig config = CampaignConfig.load(null, Arrays.asList(args).subList(1, args.length));
    Campaign.run(config, Path.of(args[0]), CampaignEvents.NONE);
    System.exit(0);
  }
}

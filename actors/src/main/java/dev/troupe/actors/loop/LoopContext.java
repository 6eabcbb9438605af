package dev.troupe.actors.loop;

import dev.troupe.actors.campaign.CampaignEvents;
import dev.troupe.actors.checkpoint.Checkpoints;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What one loop's coordinator and learner share in this process: the loop's settings, the frozen
 * base its adapter sits on, the store and checkpoints, its prompts, and the gold scorer where one exists.
 *
 * @param runDir the campaign's run folder (final adapters go to {@code adapters/<loop>} in it)
 * @param prompts null for a loop on stored pairs
 * @param gold null outside the quickstart (no gold scores)
 * @param askTimeout the longest wait for a worker's answer before the request is reissued
 */
public record LoopContext(LoopConfig loop, CampaignConfig campaign, Path runDir, CausalLm model, CampaignStore store,
    Checkpoints checkpoints, PromptStream prompts, QuickstartGold gold, CampaignEvents events, Duration askTimeout) {

  public String name() {
    return loop.name();
  }
}

package dev.troupe.actors.campaign;

import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.loop.LoopCoordinator;
import dev.troupe.actors.loop.LoopSeeds;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.LoopRewardModel;
import dev.troupe.reward.RewardService;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * What a reward worker serves for a campaign, wherever it runs (in the coordinator's JVM or on a reward
 * node): the campaign's reward model with its normalisation, and for each scalar loop on judge, human or
 * dataset labels a trainable copy of it that learns those labels step by step.
 */
public final class CampaignRewardModels {
  /**
   * A trained reward model fine-tuned on a fresh source's labels: a tenth of the quickstart reward model's
   * peak rate, so the few pairs of a step move it without undoing what it learned.
   */
  static final double LOOP_REWARD_MODEL_LR = 2e-4;

  private CampaignRewardModels() {}

  /** The loops that learn their own reward model, and how. */
  public static List<LoopRewardModel> loopModels(CampaignConfig config) {
    List<LoopRewardModel> out = new ArrayList<>();
    for (LoopConfig loop : config.loops().values()) {
      if (LoopCoordinator.kindOf(loop) == LoopCoordinator.Kind.SCALAR_LEARNED) {
        out.add(LoopRewardModel.newBuilder().setName(LoopCoordinator.rewardModelOf(loop))
            .setBatchSize(Math.max(1, loop.batchSize())).setLearningRate(LOOP_REWARD_MODEL_LR)
            .setSeed(LoopSeeds.of(config.seed(), loop.name())).build());
      }
    }
    return out;
  }

  /**
   * Serves the campaign's reward model (null: none) as loops read it, and each loop's own copy.
   *
   * @throws IllegalStateException when a loop learns its rewards and the campaign has no reward model
   */
  public static void serve(RewardService service, CausalLm model, RewardModel campaignModel,
      UnaryOperator<double[]> normalize, List<LoopRewardModel> loops) {
    if (campaignModel != null) {
      RewardFunction raw = campaignModel.rewardFunction();
      service.serve(LoopCoordinator.CAMPAIGN_REWARD_MODEL, (prompts, responses) -> normalize.apply(
          raw.score(prompts, responses)));
    }
    for (LoopRewardModel loop : loops) {
      if (campaignModel == null) {
        throw new IllegalStateException(loop.getName() + " learns its rewards starting from the campaign's reward"
            + " model, and none is configured (troupe.campaign.reward-model.path)");
      }
      Adapter adapter = AdapterVersions.load(AdapterVersions.snapshot(campaignModel.adapter(), model, "reward-model", 0),
          model, loop.getName());
      RewardModel copy = new RewardModel(model, adapter, campaignModel.head().copy(model.manager()));
      service.serveTrainable(loop.getName(), copy, RewardTrainer.Config.of(RewardTrainer.Trainable.HEAD_AND_ADAPTER,
          loop.getBatchSize(), loop.getLearningRate()).withSeed(loop.getSeed()), normalize);
    }
  }
}

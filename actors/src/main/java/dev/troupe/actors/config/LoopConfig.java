package dev.troupe.actors.config;

import dev.troupe.algorithms.config.TrainSettings;
import dev.troupe.model.lora.LoraConfig;
import java.nio.file.Path;

/**
 * One loop of a campaign: a feedback source times an algorithm, training its own adapter named after the loop.
 *
 * @param name the loop's key under {@code loops}; also its adapter's and its run sub-folder's name
 * @param steps training steps of this loop
 * @param batchSize prompts per step (ppo: rollouts; grpo / rloo: prompts, each a group; the DPO family: pairs)
 * @param maxStaleness rollouts sampled more than this many adapter versions ago are dropped
 * @param maxInFlight rollout batches requested ahead of the learner
 * @param data feedback = dataset: a TRL or HH jsonl file of preference rows (null: the quickstart's pairs)
 * @param judge the AI judge, for feedback = ai-judge only (null otherwise)
 * @param evalEvery gold score every this many steps (0: only at the start and the end)
 */
public record LoopConfig(String name, Algorithm algorithm, Feedback feedback, int steps, int batchSize,
    int maxStaleness, int maxInFlight, Path data, LoraConfig adapter, Optim optim, Generation generation,
    TrainSettings.Ppo ppo, TrainSettings.Grpo grpo, TrainSettings.Dpo dpo, JudgeSettings judge, int evalEvery) {

  /**
   * Whether the loop samples its policy on a prompt stream: every loop but a pairwise one on stored pairs
   * (scalar algorithms score rollouts; online DPO labels two fresh samples; humans judge fresh samples).
   */
  public boolean samplesPrompts() {
    return !(algorithm.pairwise() && feedback == Feedback.DATASET);
  }
}

package dev.troupe.algorithms.grpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.optim.AdamW;
import dev.troupe.algorithms.rollout.ResponseBatch;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.List;

/**
 * GRPO (Shao et al. 2024) and RLOO (Ahmadian et al. 2024) on one adapter: a group of samples per
 * prompt, advantages from the group itself (no value model), a clipped update with an optional
 * KL term to the adapter-off reference.
 */
public final class GrpoTrainer implements AutoCloseable {
  private final CausalLm model;
  private final Adapter adapter;
  private final GrpoConfig config;
  private final RewardFunction reward;
  private final AdamW optimizer;
  private final double maxGradNorm;
  private final Generator generator;
  private long iteration;

  public GrpoTrainer(CausalLm model, Adapter adapter, GrpoConfig config, RewardFunction reward, double lr,
      double maxGradNorm) {
    this.model = model;
    this.adapter = adapter;
    this.config = config;
    this.reward = reward;
    this.maxGradNorm = maxGradNorm;
    this.generator = new Generator(model, null);
    adapter.setTrainable(true);
    this.optimizer = new AdamW(adapter.parameters(), AdamW.AdamWConfig.defaults().withLr(lr));
  }

  /** One iteration: groupSize samples per prompt, advantages, {@code config.iterations()} updates. */
  public Metrics iteration(List<long[]> prompts, SamplingParams sampling, double lr) {
    adapter.setTrainable(false);
    Rollouts rollouts = Rollouts.sample(generator, adapter, prompts, config.groupSize(),
        sampling.withSeed(sampling.seed() + iteration++), reward);
    adapter.setTrainable(true);
    Metrics metrics = new Metrics().put(MetricNames.OBJECTIVE_SCORES, rollouts.meanScore())
        .put(MetricNames.OBJECTIVE_SCORES_STD, rollouts.scoreStd());
    try (NDManager step = model.manager().newSubManager()) {
      ResponseBatch rows = ResponseBatch.of(step, rollouts.prompts(), rollouts.responses());
      NDArray scores = rollouts.scores(step);
      NDArray advantages = config.advantage() == GrpoConfig.Advantage.RLOO
          ? GroupAdvantages.rloo(scores, config.groupSize())
          : GroupAdvantages.grpo(scores, config.groupSize(), config.scaleByStd(), config.eps());
      NDArray old;
      NDArray reference = null;
      try (GradMode ignored = GradMode.disabled()) {
        old = rows.logProbs(model, adapter, false, 1.0);
        if (config.beta() > 0) {
          reference = rows.logProbs(model, null, false, 1.0);
        }
      }
      List<Metrics> updates = new ArrayList<>();
      for (int i = 0; i < config.iterations(); i++) {
        try (NDManager update = step.newSubManager()) {
          lendTo(update, rows.ids(), rows.mask(), rows.responseMask(), old, reference, advantages);
          Metrics m;
          try (GradMode ignored = GradMode.enabled()) {
            NDArray current = rows.logProbs(model, adapter, true, 1.0);
            LossOutput out = GrpoLoss.loss(current, old, reference, advantages, rows.responseMask(),
                config.clipRange(), config.beta());
            GradMode.backward(out.loss());
            m = out.metrics();
          }
          if (maxGradNorm > 0) {
            optimizer.clipGradNorm(maxGradNorm);
          }
          m.put("grad_norm", optimizer.step(lr, m.get(MetricNames.LOSS)).gradNorm());
          updates.add(m);
        }
      }
      // The mean over the batch's updates, as PPO reports its epochs × minibatches.
      metrics.merge(Metrics.mean(updates));
    }
    return metrics.put(MetricNames.OPTIM_SKIPPED_STEPS, optimizer.skippedSteps());
  }

  /**
   * Attaches {@code inputs} (nulls skipped) to {@code update} until it closes, which hands them
   * back: an op's result joins its first operand's manager, so the graph and loss an update
   * computes from them are freed when the update ends, not when the iteration does.
   */
  private static void lendTo(NDManager update, NDArray... inputs) {
    for (NDArray input : inputs) {
      if (input != null) {
        input.tempAttach(update);
      }
    }
  }

  @Override
  public void close() {
    optimizer.close();
    adapter.setTrainable(false);
  }
}

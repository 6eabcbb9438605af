package dev.troupe.algorithms.grpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.metrics.PhaseTimer;
import dev.troupe.algorithms.optim.AdamW;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.rollout.ResponseBatch;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.trainer.StateTensors;
import dev.troupe.algorithms.trainer.Trainer;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.TrainerState;
import java.util.ArrayList;
import java.util.List;

/**
 * GRPO (Shao et al. 2024) and RLOO (Ahmadian et al. 2024) on one adapter, from scored groups of
 * rollouts sampled elsewhere: advantages from each group itself (no value model), a clipped update
 * against the behaviour log-probs the rollouts carry, with an optional KL term to the adapter-off
 * reference, all at the temperature the rollouts were sampled at.
 */
public final class GrpoTrainer implements Trainer {
  private final CausalLm model;
  private final Adapter adapter;
  private final GrpoConfig config;
  private final OptimizerSettings optim;
  private final AdamW optimizer;

  public GrpoTrainer(CausalLm model, Adapter adapter, GrpoConfig config, OptimizerSettings optim) {
    if (optim.gradientAccumulationSteps() != 1) {
      throw new IllegalArgumentException("GRPO takes one update per pass; gradient accumulation must be 1, got "
          + optim.gradientAccumulationSteps());
    }
    this.model = model;
    this.adapter = adapter;
    this.config = config;
    this.optim = optim;
    adapter.setTrainable(true);
    this.optimizer = optim.newAdamW(adapter.parameters());
  }

  @Override
  public Adapter adapter() {
    return adapter;
  }

  @Override
  public long updates() {
    return optimizer.stepCount();
  }

  private String algorithm() {
    return config.advantage() == GrpoConfig.Advantage.RLOO ? "rloo" : "grpo";
  }

  /**
   * One iteration on scored rollouts in groups of {@code groupSize} consecutive rows sharing a group
   * id (as a policy worker returns them): advantages, then {@code config.iterations()} updates.
   */
  public Metrics learn(List<Rollout> rollouts) {
    requireGroups(rollouts);
    PhaseTimer timer = new PhaseTimer();
    double temperature = Rollouts.temperature(rollouts);
    double[] scoreValues = Rollouts.scores(rollouts);
    Metrics metrics = new Metrics().put(MetricNames.OBJECTIVE_SCORES, Rollouts.mean(scoreValues))
        .put(MetricNames.OBJECTIVE_SCORES_STD, Rollouts.std(scoreValues));
    try (NDManager step = model.manager().newSubManager()) {
      ResponseBatch rows = ResponseBatch.of(step, rollouts);
      NDArray scores = Rollouts.scores(rollouts, step);
      NDArray advantages = config.advantage() == GrpoConfig.Advantage.RLOO
          ? GroupAdvantages.rloo(scores, config.groupSize())
          : GroupAdvantages.grpo(scores, config.groupSize(), config.scaleByStd(), config.eps());
      NDArray old = ResponseBatch.behaviourLogProbs(step, rollouts, rows.responseMask().getShape().get(1));
      NDArray reference = null;
      if (config.beta() > 0) {
        try (GradMode ignored = GradMode.disabled()) {
          reference = rows.logProbs(model, null, false, temperature);
        }
      }
      timer.lap(MetricNames.TIME_REFERENCE);
      List<Metrics> updates = new ArrayList<>();
      for (int i = 0; i < config.iterations(); i++) {
        try (NDManager update = step.newSubManager()) {
          lendTo(update, rows.ids(), rows.mask(), rows.responseMask(), old, reference, advantages);
          Metrics m;
          try (GradMode ignored = GradMode.enabled()) {
            NDArray current = rows.logProbs(model, adapter, true, temperature);
            LossOutput out = GrpoLoss.loss(current, old, reference, advantages, rows.responseMask(),
                config.clipRange(), config.beta());
            GradMode.backward(out.loss());
            m = out.metrics();
          }
          m.put(MetricNames.GRAD_NORM, optim.step(optimizer, m.get(MetricNames.LOSS)).gradNorm());
          updates.add(m);
        }
      }
      timer.lap(MetricNames.TIME_UPDATE);
      // The mean over the batch's updates, as PPO reports its epochs × minibatches.
      metrics.merge(Metrics.mean(updates));
    }
    metrics.merge(timer.total(MetricNames.TIME_ITERATION));
    return metrics.put(MetricNames.OPTIM_SKIPPED_STEPS, optimizer.skippedSteps());
  }

  private void requireGroups(List<Rollout> rollouts) {
    int g = config.groupSize();
    if (rollouts.isEmpty() || rollouts.size() % g != 0) {
      throw new IllegalArgumentException(rollouts.size() + " rollouts do not make groups of " + g);
    }
    for (int start = 0; start < rollouts.size(); start += g) {
      String group = rollouts.get(start).getGroupId();
      for (int i = start + 1; i < start + g; i++) {
        if (!rollouts.get(i).getGroupId().equals(group)) {
          throw new IllegalArgumentException("rollout " + rollouts.get(i).getId() + " (group '"
              + rollouts.get(i).getGroupId() + "') sits in the group of " + rollouts.get(start).getId() + " ('" + group
              + "'): groups of " + g + " must be consecutive");
        }
      }
    }
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
  public TrainerState state() {
    TrainerState.Builder state = TrainerState.newBuilder().setAlgorithm(algorithm());
    optimizer.writeState(state, "optim.");
    return state.build();
  }

  @Override
  public void restore(TrainerState state) {
    StateTensors.requireAlgorithm(state, algorithm());
    optimizer.readState(state, "optim.");
  }

  @Override
  public void close() {
    optimizer.close();
    adapter.setTrainable(false);
  }
}

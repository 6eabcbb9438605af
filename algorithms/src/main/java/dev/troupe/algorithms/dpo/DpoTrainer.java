package dev.troupe.algorithms.dpo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.troupe.algorithms.metrics.LossOutput;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.metrics.PhaseTimer;
import dev.troupe.algorithms.optim.AdamW;
import dev.troupe.algorithms.optim.MicroBatches;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.trainer.StateTensors;
import dev.troupe.algorithms.trainer.Trainer;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.TrainerState;
import dev.troupe.algorithms.rollout.ResponseBatch;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.autograd.Ops;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * DPO / IPO / cDPO on one adapter: the policy is base + adapter, the reference is the same base
 * with the adapter switched off, so no second model is held (Rafailov et al. 2023).
 */
public final class DpoTrainer implements Trainer {
  private final CausalLm model;
  private final Adapter adapter;
  private final DpoConfig config;
  private final OptimizerSettings optim;
  private final AdamW optimizer;

  /**
   * {@code optim.gradientAccumulationSteps()} is the number of micro-batches each {@link #step}'s
   * batch is split into, one reference and one policy pass each; the update is that of the whole
   * batch's mean loss.
   */
  public DpoTrainer(CausalLm model, Adapter adapter, DpoConfig config, OptimizerSettings optim) {
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

  /**
   * One optimizer step on a batch of preference pairs (a comparison of N responses counts as its
   * N − 1 pairs); returns TRL's DPO metrics plus grad_norm, optim/skipped_steps and the seconds of
   * the reference pass, the update and the whole step ({@code time/} in {@link MetricNames}).
   */
  public Metrics step(List<PreferencePair> pairs) {
    List<PreferencePairs.Tokens> batch = PreferencePairs.tokens(pairs);
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("an empty DPO batch");
    }
    PhaseTimer timer = new PhaseTimer();
    List<List<PreferencePairs.Tokens>> micro = MicroBatches.split(batch, optim.gradientAccumulationSteps());
    double[] shares = MicroBatches.shares(micro.stream().mapToDouble(List::size).toArray());
    // Every DPO metric is a mean over the batch's pairs: the step's is the share-weighted sum.
    Metrics metrics = new Metrics();
    for (int i = 0; i < micro.size(); i++) {
      Metrics part = backward(micro.get(i), micro.size() == 1 ? 1 : shares[i], timer);
      for (Map.Entry<String, Double> e : part.asMap().entrySet()) {
        metrics.put(e.getKey(), (metrics.contains(e.getKey()) ? metrics.get(e.getKey()) : 0) + shares[i] * e.getValue());
      }
    }
    AdamW.StepResult result = optim.step(optimizer, metrics.get(MetricNames.LOSS));
    timer.lap(MetricNames.TIME_UPDATE);
    return metrics.put(MetricNames.GRAD_NORM, result.gradNorm())
        .put(MetricNames.OPTIM_SKIPPED_STEPS, optimizer.skippedSteps())
        .merge(timer.total(MetricNames.TIME_STEP));
  }

  /** Reference and policy passes of one micro-batch and the backward of its loss scaled by {@code share}. */
  private Metrics backward(List<PreferencePairs.Tokens> batch, double share, PhaseTimer timer) {
    List<long[]> prompts = new ArrayList<>();
    List<long[]> responses = new ArrayList<>();
    for (PreferencePairs.Tokens e : batch) {
      prompts.add(e.prompt());
      responses.add(e.chosen());
    }
    for (PreferencePairs.Tokens e : batch) {
      prompts.add(e.prompt());
      responses.add(e.rejected());
    }
    int b = batch.size();
    try (NDManager step = model.manager().newSubManager()) {
      // Chosen rows first, then rejected: one forward pass for both.
      ResponseBatch rows = ResponseBatch.of(step, prompts, responses);
      NDArray lengths = rows.responseMask().sum(new int[] {1}); // response tokens per row
      NDArray reference;
      try (GradMode ignored = GradMode.disabled()) {
        reference = SequenceLogps.sum(rows.logProbs(model, null, false, 1.0), rows.responseMask());
      }
      timer.lap(MetricNames.TIME_REFERENCE);
      try (GradMode ignored = GradMode.enabled()) {
        NDArray policy = SequenceLogps.sum(rows.logProbs(model, adapter, true, 1.0), rows.responseMask());
        NDIndex chosen = new NDIndex("0:{}", b);
        NDIndex rejected = new NDIndex("{}:", b);
        LossOutput out = DpoLoss.compute(policy.get(chosen), policy.get(rejected), reference.get(chosen),
            reference.get(rejected), lengths.get(chosen), lengths.get(rejected), config);
        GradMode.backward(share == 1 ? out.loss() : Ops.mul(out.loss(), share));
        timer.lap(MetricNames.TIME_UPDATE);
        return out.metrics();
      }
    }
  }

  private String algorithm() {
    return switch (config.lossType()) {
      case SIGMOID -> "dpo";
      case IPO -> "ipo";
      case CDPO -> "cdpo";
    };
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

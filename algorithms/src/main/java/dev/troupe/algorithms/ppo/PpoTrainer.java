package dev.troupe.algorithms.ppo;

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
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.rollout.ResponseBatch;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.trainer.StateTensors;
import dev.troupe.algorithms.trainer.Trainer;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.autograd.Ops;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.TrainerState;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PPO for RLHF on one adapter (Ziegler et al. 2019; Stiennon et al. 2020) from scored rollouts
 * sampled elsewhere: shape the reward with a per-token KL penalty to the adapter-off reference, GAE
 * on a value head that reads the policy's own hidden states, then K epochs of clipped updates of
 * adapter and value head. The ratio's denominator is the behaviour log-prob each rollout carries,
 * at the temperature it was sampled at, so a rollout from an older adapter version stays correct.
 *
 * <p>The value head has an optimizer of its own, as the critic has in OpenRLHF and verl, so it can
 * learn faster than the policy ({@code criticOptim}'s rate) and its gradient is clipped apart from
 * the policy's: a large value loss early on no longer shrinks the policy's update.
 */
public final class PpoTrainer implements Trainer {
  private static final Logger LOG = LoggerFactory.getLogger(PpoTrainer.class);
  private static final String ALGORITHM = "ppo";
  private static final String VALUE_OPTIM = "value_optim.";
  private final CausalLm model;
  private final Adapter adapter;
  private final RewardHead valueHead;
  private final PpoConfig config;
  private final OptimizerSettings optim;
  private final OptimizerSettings criticOptim;
  private KlController kl;
  private final AdamW optimizer;
  private final AdamW valueOptimizer;
  private final long seed;
  private long batches;

  /** PPO whose value head learns at the policy's rate. */
  public PpoTrainer(CausalLm model, Adapter adapter, PpoConfig config, OptimizerSettings optim, long seed) {
    this(model, adapter, config, optim, optim, seed);
  }

  /**
   * PPO whose adapter steps with {@code optim} and whose value head steps with {@code criticOptim}
   * (its rate, schedule and clipping; see {@link OptimizerSettings#withPeakLr}).
   */
  public PpoTrainer(CausalLm model, Adapter adapter, PpoConfig config, OptimizerSettings optim,
      OptimizerSettings criticOptim, long seed) {
    for (OptimizerSettings o : List.of(optim, criticOptim)) {
      if (o.gradientAccumulationSteps() != 1) {
        throw new IllegalArgumentException("PPO takes one update per minibatch; gradient accumulation must be 1, got "
            + o.gradientAccumulationSteps());
      }
    }
    this.model = model;
    this.adapter = adapter;
    this.config = config;
    this.optim = optim;
    this.criticOptim = criticOptim;
    this.seed = seed;
    this.kl = KlController.of(config);
    // Zero-ish init: the first value estimates are ~0, as for a fresh scalar head in TRL.
    this.valueHead = RewardHead.random(model.config().hiddenSize(), 1, 1e-3, seed, model.manager());
    adapter.setTrainable(true);
    valueHead.setTrainable(true);
    this.optimizer = optim.newAdamW(adapter.parameters());
    this.valueOptimizer = criticOptim.newAdamW(valueHead.parameters());
  }

  public double beta() {
    return kl.beta();
  }

  @Override
  public Adapter adapter() {
    return adapter;
  }

  /** Optimizer updates applied so far: epochs × minibatches per batch, less any refused. */
  @Override
  public long updates() {
    return optimizer.stepCount();
  }

  /**
   * One PPO iteration on scored rollouts (one response each, any prompts): advantages, then epochs ×
   * minibatches of updates. Reports the seconds of the no-grad passes and of the updates under the
   * {@code time/} names of {@link MetricNames}.
   */
  public Metrics learn(List<Rollout> rollouts) {
    PhaseTimer timer = new PhaseTimer();
    double temperature = Rollouts.temperature(rollouts);
    double[] scoreValues = Rollouts.scores(rollouts);
    Metrics metrics = new Metrics().put(MetricNames.OBJECTIVE_SCORES_STD, Rollouts.std(scoreValues));
    // Minibatch order depends on the batch index only, so a resumed trainer shuffles as an unbroken one would.
    Random shuffler = new Random(seed * 1_000_003L + batches++);
    try (NDManager step = model.manager().newSubManager()) {
      ResponseBatch rows = ResponseBatch.of(step, rollouts);
      NDArray mask = rows.responseMask();
      NDArray oldLogps = ResponseBatch.behaviourLogProbs(step, rollouts, mask.getShape().get(1));
      NDArray oldValues;
      NDArray advantages;
      NDArray returns;
      try (GradMode ignored = GradMode.disabled()) {
        oldValues = values(model.hidden(rows.ids(), rows.mask(), null, adapter, false));
        NDArray refLogps = rows.logProbs(model, null, false, temperature);
        NDArray scores = Rollouts.scores(rollouts, step);
        Rewards.PerToken shaped = Rewards.perToken(scores, oldLogps, refLogps, mask, kl.beta());
        metrics.merge(shaped.metrics());
        Gae.Estimate gae = Gae.compute(shaped.rewards(), oldValues, mask, config.gamma(), config.lam());
        advantages = config.whitenAdvantages() ? Whiten.masked(gae.advantages(), mask, true) : gae.advantages();
        returns = gae.returns();
        double batchKl = shaped.kl().mean().getFloat();
        if (!kl.updateIfFinite(batchKl, rollouts.size())) {
          LOG.warn("the batch's KL to the reference is {}: the KL coefficient stays {}", batchKl, kl.beta());
        }
      }
      // The value pass (adapter on) is timed with the reference pass: both are no-grad forwards.
      timer.lap(MetricNames.TIME_REFERENCE);
      int b = rollouts.size();
      List<Integer> rowOrder = new ArrayList<>();
      for (int r = 0; r < b; r++) {
        rowOrder.add(r);
      }
      List<Metrics> updates = new ArrayList<>();
      for (int epoch = 0; epoch < config.epochs(); epoch++) {
        // Exactly config.minibatches() minibatches of near-equal size, drawn afresh each epoch as in TRL;
        // one minibatch is the whole batch in order.
        if (config.minibatches() > 1) {
          Collections.shuffle(rowOrder, shuffler);
        }
        for (List<Integer> minibatch : MicroBatches.split(rowOrder, config.minibatches())) {
          NDIndex rowsIndex = config.minibatches() == 1
              ? new NDIndex("0:{}", b)
              : new NDIndex("{}", step.create(minibatch.stream().mapToLong(Integer::longValue).toArray()));
          Metrics m;
          try (GradMode ignored = GradMode.enabled()) {
            NDArray ids = rows.ids().get(rowsIndex);
            NDArray hidden = model.hidden(ids, rows.mask().get(rowsIndex), null, adapter, true);
            NDArray logits = model.logits(hidden.get(new NDIndex(":, :-1, :")));
            NDArray scaled = temperature == 1.0 ? logits : Ops.div(logits, temperature);
            NDArray logProbs = scaled.logSoftmax(-1); // once, for the targets' log-probs and the entropy
            NDArray logps = LogProbs.atTargets(logProbs, ids.get(new NDIndex(":, 1:")));
            NDArray mb = mask.get(rowsIndex);
            LossOutput policy = PpoLoss.policy(logps, oldLogps.get(rowsIndex), advantages.get(rowsIndex), mb,
                config.clipRange());
            LossOutput value = PpoLoss.value(values(hidden), oldValues.get(rowsIndex), returns.get(rowsIndex), mb,
                config.clipRangeValue());
            LossOutput entropy = config.entropyCoef() > 0 ? PpoLoss.entropyOfLogProbs(logProbs, mb) : null;
            LossOutput total = PpoLoss.total(policy, value, entropy, config);
            GradMode.backward(total.loss());
            m = total.metrics();
            if (entropy == null) {
              // Reported without the bonus too (as TRL does): a collapsing entropy is the first sign of a
              // policy that has stopped exploring; measured off the graph, so it costs no backward.
              try (GradMode off = GradMode.disabled()) {
                m.merge(PpoLoss.entropyOfLogProbs(logProbs.stopGradient(), mb).metrics());
              }
            }
          }
          AdamW.StepResult policyStep = optim.step(optimizer, m.get(MetricNames.LOSS_TOTAL));
          m.put(MetricNames.GRAD_NORM, policyStep.gradNorm());
          if (policyStep.skipped()) {
            // One refusal per update, counted and logged once: the head's gradient came from the same loss.
            valueOptimizer.zeroGradients();
            m.put(MetricNames.VALUE_GRAD_NORM, Double.NaN);
          } else {
            m.put(MetricNames.VALUE_GRAD_NORM,
                criticOptim.step(valueOptimizer, m.get(MetricNames.LOSS_TOTAL)).gradNorm());
          }
          updates.add(m);
        }
      }
      timer.lap(MetricNames.TIME_UPDATE);
      metrics.merge(Metrics.mean(updates));
      try (GradMode ignored = GradMode.disabled()) {
        metrics.put(MetricNames.VALUE_EXPLAINED_VARIANCE, PpoLoss.explainedVariance(oldValues, returns, mask));
      }
    }
    metrics.merge(timer.total(MetricNames.TIME_ITERATION));
    // objective/kl_coef stays the β this batch was shaped with (from Rewards), not the adapted next one.
    return metrics.put(MetricNames.OPTIM_SKIPPED_STEPS, optimizer.skippedSteps() + valueOptimizer.skippedSteps());
  }

  /** V(s_t) for every state that predicts a target: the head on hidden states 0..T-2, [B, T-1]. */
  private NDArray values(NDArray hidden) {
    return valueHead.apply(hidden.get(new NDIndex(":, :-1, :"))).squeeze(-1);
  }

  @Override
  public TrainerState state() {
    TrainerState.Builder state = TrainerState.newBuilder().setAlgorithm(ALGORITHM);
    optimizer.writeState(state, "optim.");
    valueOptimizer.writeState(state, VALUE_OPTIM);
    StateTensors.write(state, "value_head.", valueHead.parameters());
    return state.putScalars("kl.beta", kl.beta()).putCounters("batches", batches).build();
  }

  @Override
  public void restore(TrainerState state) {
    StateTensors.requireAlgorithm(state, ALGORITHM);
    optimizer.readState(state, "optim.");
    if (state.containsCounters(VALUE_OPTIM + "skipped")) {
      valueOptimizer.readState(state, VALUE_OPTIM);
    } else {
      // A state from before the value head had its own optimizer: the head's weights are there, its
      // moments are not (they sat after the adapter's in "optim."), so they start again from zero.
      LOG.warn("the PPO state has no '{}' optimizer state (written by an older Troupe): the value head's"
          + " Adam moments start from zero", VALUE_OPTIM);
    }
    StateTensors.read(state, "value_head.", valueHead.parameters());
    batches = StateTensors.counter(state, "batches");
    if (config.adaptiveKl() != null) {
      kl = new KlController.AdaptiveKl(state.getScalarsOrThrow("kl.beta"), config.adaptiveKl().target(),
          config.adaptiveKl().horizon());
    }
  }

  @Override
  public void close() {
    optimizer.close();
    valueOptimizer.close();
    valueHead.close();
    adapter.setTrainable(false);
  }
}

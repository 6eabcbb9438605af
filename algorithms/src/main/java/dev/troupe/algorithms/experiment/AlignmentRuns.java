package dev.troupe.algorithms.experiment;

import dev.troupe.algorithms.data.TokenCodec;
import dev.troupe.algorithms.dpo.DpoConfig;
import dev.troupe.algorithms.dpo.DpoTrainer;
import dev.troupe.algorithms.grpo.GrpoConfig;
import dev.troupe.algorithms.grpo.GrpoTrainer;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.ppo.PpoConfig;
import dev.troupe.algorithms.ppo.PpoTrainer;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Rollout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * PPO, GRPO and DPO on the quickstart task, each training a given adapter over the SFT base, with a
 * callback after every step (where the quickstart takes the points of its gold-vs-KL curves). The
 * quickstart's defaults and the study that chose them (BENCHMARKS.md) run these same methods.
 */
public final class AlignmentRuns {
  private AlignmentRuns() {}

  /**
   * What every method reads.
   *
   * @param sampling temperature-1 sampling of the quickstart; each step samples at its seed + the step index
   * @param rlPrompts the train prompts the methods sample, in stream order
   * @param rewardModel the normalised reward model (PPO, GRPO, online DPO)
   * @param labelledPairs the gold-labelled pairs of SFT samples the reward model learned from (offline DPO)
   */
  public record Context(CausalLm model, TokenCodec codec, QuickstartTask task, SamplingParams sampling,
      List<TaskPrompt> rlPrompts, RewardFunction rewardModel, List<PreferencePair> labelledPairs, long seed) {}

  /** Told after each step: the method's name, the 1-based step just taken and its metrics. */
  @FunctionalInterface
  public interface StepListener {
    void afterStep(String method, int step, Metrics metrics);
  }

  /** One method's settings; {@link #train} runs it on an adapter. */
  public sealed interface Run permits Ppo, Grpo, Dpo {
    /** The method's name in results: ppo, grpo, dpo. */
    String name();

    /** Optimizer steps (PPO: iterations) the run takes. */
    int steps();

    void train(Context context, Adapter adapter, StepListener listener);
  }

  /**
   * PPO on the reward model's scores of {@code batch} rollouts per iteration (one per prompt).
   *
   * @param klCoef β of the per-token KL penalty
   * @param epochs passes over each batch (TRL's 4 overfit 32 rollouts here)
   * @param minibatches optimizer steps per pass, each on its share of the batch
   * @param criticLr the value head's learning rate ({@code lr} is the adapter's)
   */
  public record Ppo(int steps, int batch, double lr, double klCoef, int epochs, int minibatches, double criticLr)
      implements Run {
    @Override
    public String name() {
      return "ppo";
    }

    /** TRL's PPO defaults with this run's β, epochs and minibatches. */
    public PpoConfig config() {
      PpoConfig d = PpoConfig.defaults().withKlCoef(klCoef);
      return new PpoConfig(d.gamma(), d.lam(), d.clipRange(), d.clipRangeValue(), d.vfCoef(), d.entropyCoef(),
          d.whitenAdvantages(), d.whitenRewards(), d.klCoef(), d.adaptiveKl(), epochs, minibatches);
    }

    @Override
    public void train(Context c, Adapter adapter, StepListener listener) {
      RolloutGenerator sampler = new RolloutGenerator(c.model(), null, "quickstart");
      try (PpoTrainer trainer = new PpoTrainer(c.model(), adapter, config(), OptimizerSettings.of(lr),
          OptimizerSettings.of(criticLr), c.seed())) {
        for (int i = 0; i < steps; i++) {
          GenerateRequest request = request("ppo-" + i, c, i, batch, 1);
          List<Rollout> rollouts = Rollouts.scoredBy(sampler.generate(request, adapter, i, ""), c.rewardModel());
          listener.afterStep(name(), i + 1, trainer.learn(rollouts));
        }
      }
    }
  }

  /**
   * GRPO on the reward model's scores: {@code prompts} prompts per step, {@code group} samples each.
   *
   * @param beta weight of the k3 KL penalty to the reference
   * @param scaleByStd divide advantages by the group's standard deviation (TRL scale_rewards)
   * @param iterations optimisation passes over each batch of groups
   */
  public record Grpo(int steps, int prompts, int group, double lr, double beta, boolean scaleByStd, int iterations)
      implements Run {
    @Override
    public String name() {
      return "grpo";
    }

    public GrpoConfig config() {
      return new GrpoConfig(group, GrpoConfig.Advantage.GRPO, scaleByStd, 1e-4, 0.2, beta, iterations);
    }

    @Override
    public void train(Context c, Adapter adapter, StepListener listener) {
      RolloutGenerator sampler = new RolloutGenerator(c.model(), null, "quickstart");
      try (GrpoTrainer trainer = new GrpoTrainer(c.model(), adapter, config(), OptimizerSettings.of(lr))) {
        for (int i = 0; i < steps; i++) {
          GenerateRequest request = request("grpo-" + i, c, i, prompts, group);
          List<Rollout> rollouts = Rollouts.scoredBy(sampler.generate(request, adapter, i, ""), c.rewardModel());
          listener.afterStep(name(), i + 1, trainer.learn(rollouts));
        }
      }
    }
  }

  /** Where DPO's pairs come from. */
  public enum PairSource {
    /** The stored gold-labelled pairs of SFT samples (offline DPO), in order, cycled. */
    LABELLED,
    /** The same pairs, interleaved kind by kind so that each batch holds every kind alike. */
    LABELLED_BALANCED,
    /**
     * Fresh samples of the current policy, {@code samplesPerPrompt} per prompt, the reward model's best
     * over its worst (online DPO, Guo et al. 2024, "Direct Language Model Alignment from Online AI Feedback").
     */
    ONLINE
  }

  /**
   * DPO (or IPO, cDPO, RPO as {@code loss} says) on {@code batch} pairs per step.
   *
   * @param samplesPerPrompt ONLINE only: responses sampled per prompt, the best and the worst of which make a pair
   */
  public record Dpo(int steps, int batch, double lr, DpoConfig loss, PairSource pairs, int samplesPerPrompt)
      implements Run {
    @Override
    public String name() {
      return "dpo";
    }

    public Dpo withSteps(int newSteps, int newBatch) {
      return new Dpo(newSteps, newBatch, lr, loss, pairs, samplesPerPrompt);
    }

    @Override
    public void train(Context c, Adapter adapter, StepListener listener) {
      RolloutGenerator sampler = new RolloutGenerator(c.model(), null, "quickstart");
      List<PreferencePair> stored = pairs == PairSource.LABELLED_BALANCED ? balancedByKind(c.labelledPairs())
          : c.labelledPairs();
      try (DpoTrainer trainer = new DpoTrainer(c.model(), adapter, loss, OptimizerSettings.of(lr))) {
        for (int i = 0; i < steps; i++) {
          List<PreferencePair> step = new ArrayList<>();
          if (pairs == PairSource.ONLINE) {
            GenerateRequest request = request("dpo-" + i, c, i, batch, samplesPerPrompt);
            step.addAll(bestOverWorst(Rollouts.scoredBy(sampler.generate(request, adapter, i, ""), c.rewardModel()),
                samplesPerPrompt));
          } else {
            for (int j = 0; j < batch; j++) {
              step.add(stored.get((i * batch + j) % stored.size()));
            }
          }
          // Every prompt's samples alike: nothing to learn from this batch, and the step is told as empty.
          listener.afterStep(name(), i + 1, step.isEmpty() ? new Metrics() : trainer.step(step));
        }
      }
    }
  }

  /**
   * The pairs reordered so that kinds take turns (each kind's pairs in their own order): a batch of
   * 16 then holds three or four of each of the five kinds, whatever share of the pairs each kind has.
   */
  static List<PreferencePair> balancedByKind(List<PreferencePair> pairs) {
    Map<String, Deque<PreferencePair>> byKind = new TreeMap<>();
    for (PreferencePair p : pairs) {
      byKind.computeIfAbsent(p.getComparison().getPrompt().getKind(), k -> new ArrayDeque<>()).add(p);
    }
    List<PreferencePair> out = new ArrayList<>(pairs.size());
    while (out.size() < pairs.size()) {
      for (Deque<PreferencePair> queue : byKind.values()) {
        if (!queue.isEmpty()) {
          out.add(queue.poll());
        }
      }
    }
    return out;
  }

  /**
   * For each prompt's consecutive {@code perPrompt} scored rollouts, the highest-scored one over the
   * lowest; a prompt whose best and worst answers are the same tokens, or score alike, gives no pair.
   */
  static List<PreferencePair> bestOverWorst(List<Rollout> scored, int perPrompt) {
    List<PreferencePair> out = new ArrayList<>();
    for (int from = 0; from + perPrompt <= scored.size(); from += perPrompt) {
      Rollout best = scored.get(from);
      Rollout worst = scored.get(from);
      for (Rollout r : scored.subList(from, from + perPrompt)) {
        best = r.getScore() > best.getScore() ? r : best;
        worst = r.getScore() < worst.getScore() ? r : worst;
      }
      // Token ids, not texts: the training sampler decodes no text (its rollouts' texts are all empty).
      if (best.getResponseTokenIdsList().equals(worst.getResponseTokenIdsList()) || best.getScore() == worst.getScore()) {
        continue;
      }
      out.add(PreferencePairs.of(best.getGroupId(), Rollouts.promptIds(best), Rollouts.responseIds(best),
          Rollouts.responseIds(worst), FeedbackSource.FEEDBACK_SOURCE_AI));
    }
    return out;
  }

  /** Step {@code step}'s slice of the prompt stream, {@code perPrompt} samples each, at the sampling seed + step. */
  static GenerateRequest request(String id, Context c, int step, int size, int perPrompt) {
    GenerateRequest.Builder request = GenerateRequest.newBuilder().setRequestId(id).setSamplesPerPrompt(perPrompt)
        .setSampling(RolloutGenerator.sampling(c.sampling().withSeed(c.sampling().seed() + step)));
    for (int i = 0; i < size; i++) {
      int index = (step * size + i) % c.rlPrompts().size();
      request.addPrompts(QuickstartSetup.prompt("rl/" + index, c.rlPrompts().get(index), c.task(), c.codec()));
    }
    return request.build();
  }
}

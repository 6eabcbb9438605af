package dev.troupe.cli.bench;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.dpo.DpoConfig;
import dev.troupe.algorithms.metrics.PhaseTimer;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Rollout;
import java.util.Arrays;
import dev.troupe.algorithms.dpo.DpoTrainer;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.ppo.PpoConfig;
import dev.troupe.algorithms.ppo.PpoTrainer;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Where one PPO iteration and one DPO step spend their time, phase by phase, with each phase's
 * model FLOP utilisation against the matmul roofline measured in the same run.
 *
 * <p>PPO runs as in the quickstart: policy and reward model share one frozen base, each through
 * its own LoRA adapter (r=8 on q,v), the reward model reading prompt + response through a scalar
 * {@link RewardHead}. Weights and prompts are random: the timings depend on shapes, not on values,
 * and sampling never stops early, so every row has exactly {@code newTokens} response tokens.
 */
public final class AlgorithmsBenchmark {

  /**
   * What to measure on.
   *
   * @param batch PPO prompts per iteration, and DPO pairs per step
   * @param promptTokens tokens per prompt (PPO and DPO)
   * @param newTokens PPO: tokens sampled per prompt; DPO: tokens of each chosen and rejected response
   * @param measuredSteps PPO iterations and DPO steps measured after one warm-up each; the one of
   *     median total time is reported, so its phases add up
   */
  public record Settings(ModelConfig config, int batch, int promptTokens, int newTokens, int measuredSteps,
      int rooflineSize) {

    /**
     * The bench-15m shape with 8 prompts of 64 tokens and 128 new tokens (sequences of 192), TRL's
     * PPO defaults (4 epochs of one minibatch); 2 to 3 minutes on 2 shared CPU cores.
     */
    public static Settings bench15m() {
      ModelBenchmark.Settings model = ModelBenchmark.Settings.bench15m();
      return new Settings(model.config(), 8, 64, 128, 3, model.rooflineSize());
    }

    /** A seconds-long run on a tiny shape, for tests of the benchmark itself. */
    public static Settings tiny() {
      ModelBenchmark.Settings model = ModelBenchmark.Settings.tiny();
      return new Settings(model.config(), 2, 8, 8, 1, model.rooflineSize());
    }

    int sequenceLength() {
      return promptTokens + newTokens;
    }
  }

  private static final LoraConfig ADAPTER = LoraConfig.of(8, 16, "q", "v");
  private static final double LR = 1e-4;
  private static final double MAX_GRAD_NORM = 1.0;
  /** TRL's PPO defaults: 4 epochs of one minibatch over each rollout batch. */
  private static final PpoConfig PPO = PpoConfig.defaults();

  private final Settings settings;
  private final Consumer<String> progress;

  public AlgorithmsBenchmark(Settings settings, Consumer<String> progress) {
    this.settings = settings;
    this.progress = progress;
  }

  /** Runs every measurement and returns the figures by their stable names. */
  public Map<String, Object> run() {
    Map<String, Object> r = new LinkedHashMap<>();
    ModelConfig c = settings.config();
    r.put("shape", String.format("llama dim %d, %d layers, %d heads, vocab %d", c.hiddenSize(), c.numLayers(),
        c.numHeads(), c.vocabSize()));
    r.put("batch", settings.batch());
    r.put("prompt_tokens", settings.promptTokens());
    r.put("new_tokens", settings.newTokens());
    ai.djl.engine.Engine.getEngine("PyTorch");
    r.put("intra_op_threads", ai.djl.pytorch.jni.JniUtils.getNumThreads());
    try (NDManager root = NDManager.newBaseManager()) {
      // A ceiling measured once can land in a burst of other work on a shared machine and push the
      // MFUs past 1; measured before each part and at the end, its best is a fair ceiling for all.
      List<Double> rooflines = new ArrayList<>();
      Metrics ppo;
      Metrics dpo;
      try (CausalLm model = CausalLm.random(c, 1, root)) {
        rooflines.add(roofline(root));
        ppo = ppoIteration(model);
        rooflines.add(roofline(root));
        dpo = dpoStep(model);
      }
      rooflines.add(roofline(root));
      double roofline = rooflines.stream().mapToDouble(Double::doubleValue).max().orElseThrow();
      r.put("roofline_gflops", roofline);
      r.put("roofline_worst_gflops", rooflines.stream().mapToDouble(Double::doubleValue).min().orElseThrow());
      reportPpo(ppo, roofline, r);
      reportDpo(dpo, roofline, r);
    }
    return r;
  }

  private double roofline(NDManager root) {
    progress.accept("matmul roofline");
    return Roofline.matmulGflops(root, settings.rooflineSize());
  }

  /** The metrics of the PPO iteration of median time, after a warm-up. */
  private Metrics ppoIteration(CausalLm model) {
    Adapter policy = model.createAdapter("policy", ADAPTER, 2);
    Adapter rewardAdapter = model.createAdapter("reward", ADAPTER, 3);
    // No stop token can be sampled: every row decodes exactly newTokens.
    SamplingParams sampling = SamplingParams.sample(settings.newTokens(), 1.0, 5).withStopTokens(List.of(-1L));
    List<Metrics> iterations = new ArrayList<>();
    try (RewardModel rewardModel = new RewardModel(model, rewardAdapter,
            RewardHead.random(settings.config().hiddenSize(), 1, 4, model.manager()));
        PpoTrainer trainer = new PpoTrainer(model, policy, PPO, OptimizerSettings.of(LR).withMaxGradNorm(MAX_GRAD_NORM),
            6)) {
      SplittableRandom random = new SplittableRandom(7);
      RolloutGenerator sampler = new RolloutGenerator(model, null, "bench");
      for (int i = 0; i <= settings.measuredSteps(); i++) {
        progress.accept(i == 0 ? "ppo iteration (warm-up)" : "ppo iteration " + i + "/" + settings.measuredSteps());
        GenerateRequest.Builder request = GenerateRequest.newBuilder().setRequestId("bench-" + i).setSamplesPerPrompt(1)
            .setSampling(RolloutGenerator.sampling(sampling.withSeed(sampling.seed() + i)));
        List<long[]> rows = randomRows(random, settings.batch(), settings.promptTokens());
        for (int j = 0; j < rows.size(); j++) {
          Prompt.Builder prompt = Prompt.newBuilder().setId("bench/" + j);
          Arrays.stream(rows.get(j)).forEach(prompt::addTokenIds);
          request.addPrompts(prompt);
        }
        // The phases a learner does not see (a policy worker samples, a reward worker scores) are timed here.
        PhaseTimer timer = new PhaseTimer();
        List<Rollout> rollouts = sampler.generate(request.build(), policy, i, "");
        timer.lap(MetricNames.TIME_GENERATE);
        rollouts = Rollouts.scoredBy(rollouts, rewardModel.rewardFunction());
        timer.lap(MetricNames.TIME_SCORE);
        Metrics m = new Metrics().merge(timer.total(MetricNames.TIME_ITERATION)).merge(trainer.learn(rollouts));
        m.put(MetricNames.TIME_ITERATION, m.get(MetricNames.TIME_GENERATE) + m.get(MetricNames.TIME_SCORE)
            + m.get(MetricNames.TIME_REFERENCE) + m.get(MetricNames.TIME_UPDATE));
        if (i > 0) { // the first iteration warms up kernels and allocators
          iterations.add(m);
        }
      }
    } finally {
      model.removeAdapter("policy");
      model.removeAdapter("reward");
    }
    return median(iterations, MetricNames.TIME_ITERATION);
  }

  /** The metrics of the DPO step of median time, after a warm-up. */
  private Metrics dpoStep(CausalLm model) {
    Adapter adapter = model.createAdapter("dpo", ADAPTER, 8);
    SplittableRandom random = new SplittableRandom(9);
    List<Metrics> steps = new ArrayList<>();
    try (DpoTrainer trainer = new DpoTrainer(model, adapter, DpoConfig.defaults(),
        OptimizerSettings.of(LR).withMaxGradNorm(MAX_GRAD_NORM))) {
      for (int i = 0; i <= settings.measuredSteps(); i++) {
        progress.accept(i == 0 ? "dpo step (warm-up)" : "dpo step " + i + "/" + settings.measuredSteps());
        List<long[]> prompts = randomRows(random, settings.batch(), settings.promptTokens());
        List<long[]> chosen = randomRows(random, settings.batch(), settings.newTokens());
        List<long[]> rejected = randomRows(random, settings.batch(), settings.newTokens());
        List<PreferencePair> batch = new ArrayList<>();
        for (int j = 0; j < settings.batch(); j++) {
          batch.add(PreferencePairs.of("bench-" + j, prompts.get(j), chosen.get(j), rejected.get(j),
              FeedbackSource.FEEDBACK_SOURCE_DATASET));
        }
        Metrics m = trainer.step(batch);
        if (i > 0) {
          steps.add(m);
        }
      }
    } finally {
      model.removeAdapter("dpo");
    }
    return median(steps, MetricNames.TIME_STEP);
  }

  /**
   * Each phase's seconds and its model FLOPs over seconds over the roofline. Every row is
   * promptTokens + newTokens long, and every token of it is counted (the prompt's too: it is computed).
   */
  private void reportPpo(Metrics m, double roofline, Map<String, Object> r) {
    ModelConfig c = settings.config();
    int b = settings.batch();
    int t = settings.sequenceLength();
    double rowTokens = (double) b * t;
    double generate = m.get(MetricNames.TIME_GENERATE);
    double score = m.get(MetricNames.TIME_SCORE);
    double reference = m.get(MetricNames.TIME_REFERENCE);
    double update = m.get(MetricNames.TIME_UPDATE);
    double updateTokens = PPO.epochs() * rowTokens;
    r.put("ppo_epochs", PPO.epochs());
    r.put("ppo_minibatches", PPO.minibatches());
    r.put("ppo_iteration_s", m.get(MetricNames.TIME_ITERATION));
    r.put("ppo_generate_s", generate);
    r.put("ppo_score_s", score);
    r.put("ppo_reference_covers", "value pass (adapter on, hidden states) + reference (adapter off), no grad");
    r.put("ppo_reference_s", reference);
    r.put("ppo_update_s", update);
    r.put("ppo_generate_tokens_per_s", b * settings.newTokens() / generate);
    r.put("ppo_generate_mfu",
        mfu(Flops.generate(c, b, settings.promptTokens(), settings.newTokens()), generate, roofline));
    r.put("ppo_score_mfu", mfu(rowTokens * Flops.trunkForwardPerToken(c, t), score, roofline));
    // Two no-grad forwards to the logits: the old policy (adapter on, plus its values) and the reference (off).
    r.put("ppo_reference_mfu", mfu(2 * rowTokens * Flops.forwardPerToken(c, t), reference, roofline));
    r.put("ppo_update_tokens_per_s", updateTokens / update);
    r.put("ppo_update_mfu", mfu(updateTokens * Flops.loraTrainPerToken(c, t), update, roofline));
  }

  /** As {@link #reportPpo}; chosen and rejected rows go through in one batch of 2 × batch rows. */
  private void reportDpo(Metrics m, double roofline, Map<String, Object> r) {
    ModelConfig c = settings.config();
    int t = settings.sequenceLength();
    double rowTokens = 2.0 * settings.batch() * t;
    double reference = m.get(MetricNames.TIME_REFERENCE);
    double update = m.get(MetricNames.TIME_UPDATE);
    double referenceFlops = rowTokens * Flops.forwardPerToken(c, t);
    double updateFlops = rowTokens * Flops.loraTrainPerToken(c, t);
    r.put("dpo_pairs", settings.batch());
    r.put("dpo_step_s", m.get(MetricNames.TIME_STEP));
    r.put("dpo_reference_s", reference);
    r.put("dpo_update_s", update);
    r.put("dpo_update_tokens_per_s", rowTokens / update);
    r.put("dpo_reference_mfu", mfu(referenceFlops, reference, roofline));
    r.put("dpo_update_mfu", mfu(updateFlops, update, roofline));
    r.put("dpo_step_mfu", mfu(referenceFlops + updateFlops, m.get(MetricNames.TIME_STEP), roofline));
  }

  private List<long[]> randomRows(SplittableRandom random, int rows, int length) {
    List<long[]> out = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      out.add(random.longs(length, 0, settings.config().vocabSize()).toArray());
    }
    return out;
  }

  private static double mfu(double flops, double seconds, double rooflineGflops) {
    return flops / seconds / 1e9 / rooflineGflops;
  }

  /** The step of median total time, whole, so that its phases add up to at most its total. */
  private static Metrics median(List<Metrics> steps, String total) {
    List<Metrics> sorted = new ArrayList<>(steps);
    sorted.sort(Comparator.comparingDouble(m -> m.get(total)));
    return sorted.get(sorted.size() / 2);
  }
}

package dev.troupe.algorithms.experiment;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.dpo.DpoConfig;
import dev.troupe.algorithms.dpo.DpoExample;
import dev.troupe.algorithms.dpo.DpoTrainer;
import dev.troupe.algorithms.grpo.GrpoConfig;
import dev.troupe.algorithms.grpo.GrpoTrainer;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.optim.LrSchedule;
import dev.troupe.algorithms.ppo.PpoConfig;
import dev.troupe.algorithms.ppo.PpoTrainer;
import dev.troupe.algorithms.reward.Pooling;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.algorithms.reward.TokenPair;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.sft.SftConfig;
import dev.troupe.algorithms.sft.SftSample;
import dev.troupe.algorithms.sft.SftTrainer;
import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.algorithms.task.Label;
import dev.troupe.algorithms.task.PerfectRater;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.Generation;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The built-in alignment experiment (Gao et al.'s setup): a tiny policy SFT'd on imperfect data,
 * a reward model learned from gold-labelled pairs, then PPO (reward model), GRPO (reward model) and
 * DPO (gold-labelled pairs), each on its own LoRA adapter over the one SFT base, judged by the
 * hidden gold scorer on held-out prompts, with the KL of each policy to the SFT start.
 */
public final class Quickstart {

  /** Sizes of each phase; {@link #defaults()} is the documented run, {@link #tiny()} a fast check. */
  /**
   * @param rmPrompts train prompts the rater labels one pair of SFT samples for (ties are dropped)
   * @param rmEpochs passes of the reward model over its pairs
   * @param evalPrompts held-out prompts for every gold score, KL and the reward model's accuracy
   */
  public record Settings(long seed, int hidden, int layers, int sftExamples, double sftErrorRate, int sftSteps,
      int rmPrompts, int rmEpochs, int ppoIterations, int ppoBatch, int grpoIterations, int grpoPrompts,
      int grpoGroup, int dpoSteps, int dpoBatch, int evalPrompts, int maxNewTokens) {

    /**
     * 24,000 SFT examples, each seen twice in 1,500 steps of 32. The same steps over 3,000 examples
     * (16 passes) taught the train prompts' answers more than the tasks: held-out SFT gold was 0.64–0.72
     * over seeds 1–3, and the reward model built on that trunk reached 0.81–0.86; with 24,000 it is
     * 0.69–0.77 and 0.88–0.94, and every method gains more over it (BENCHMARKS.md).
     */
    public static Settings defaults() {
      return new Settings(1, 96, 3, 24000, 0.4, 1500, 16000, 2, 60, 32, 60, 8, 4, 200, 16, 1000, 24);
    }

    public static Settings tiny() {
      return new Settings(1, 48, 2, 400, 0.4, 60, 40, 1, 2, 8, 2, 2, 4, 4, 4, 16, 12);
    }

    public Settings withSeed(long s) {
      return new Settings(s, hidden, layers, sftExamples, sftErrorRate, sftSteps, rmPrompts, rmEpochs, ppoIterations,
          ppoBatch, grpoIterations, grpoPrompts, grpoGroup, dpoSteps, dpoBatch, evalPrompts, maxNewTokens);
    }
  }

  /** Extra evaluations of the SFT policy under other sampling seeds, to measure the gold score's sampling noise. */
  private static final int EVAL_RESAMPLES = 4;

  /** Held-out prompts whose pairs measure the reward model's accuracy, per gold-evaluation prompt. */
  private static final int RM_EVAL_PROMPTS_PER_EVAL_PROMPT = 4;

  /** Rows per generation call: bounds the KV cache of the labelling pass (16,000 samples by default). */
  private static final int GENERATION_CHUNK = 1024;

  /**
   * Adapter learning rates, one per method, each the better of the two tried on seed 1:
   * PPO at 1e-3 over-optimised the reward model (sort and reverse fell below SFT, KL 0.87), DPO at
   * 3.3e-4 drifted to KL 2.3 and lost gold, GRPO (one pass per batch, no value head) gained most at
   * 1e-3. The KL weights keep PPO and GRPO near the SFT policy.
   */
  static final double PPO_LR = 3e-4;
  static final double GRPO_LR = 1e-3;
  static final double DPO_LR = 1e-4;
  static final double PPO_KL = 0.1;
  static final double GRPO_KL = 0.1;

  /** TRL's PPO defaults with fewer passes per batch: 4 epochs over 32 rollouts overfit them here. */
  static PpoConfig ppoConfig() {
    PpoConfig d = PpoConfig.defaults().withKlCoef(PPO_KL);
    return new PpoConfig(d.gamma(), d.lam(), d.clipRange(), d.clipRangeValue(), d.vfCoef(), d.entropyCoef(),
        d.whitenAdvantages(), d.whitenRewards(), d.klCoef(), d.adaptiveKl(), 2, d.minibatches());
  }

  private final Settings settings;
  private final Progress progress;
  private final QuickstartTask task;
  private final GoldScorer gold = new GoldScorer();

  /**
   * What a run tells its caller as it goes: each training phase (sft, rm, ppo, grpo, dpo) with the
   * steps it will take, then every step's metrics.
   */
  @FunctionalInterface
  public interface Progress {
    void step(String phase, Metrics metrics);

    /** Before the phase's first step; the reward model's count is known only once its pairs are labelled. */
    default void phaseStarted(String phase, long plannedSteps) {}
  }

  public Quickstart(Settings settings, Progress progress) {
    this.settings = settings;
    this.progress = progress;
    this.task = new QuickstartTask(settings.seed());
  }

  public Map<String, Object> run(Path workDir) throws IOException {
    long start = System.nanoTime();
    Map<String, Object> out = new LinkedHashMap<>();
    try (Tokenizer tokenizer = Tokenizer.load(QuickstartTask.tokenizer(workDir.resolve("tokenizer")));
        NDManager root = NDManager.newBaseManager()) {
      long bos = tokenizer.bosId().orElseThrow();
      long eos = tokenizer.eosId().orElseThrow();
      ModelConfig config = ModelConfig.llama(tokenizer.vocabSize(), settings.hidden(), settings.layers(), 4, 2,
          settings.hidden() * 8 / 3 / 16 * 16, 64).withEos(List.of(eos));
      try (CausalLm model = CausalLm.random(config, settings.seed(), root)) {
        Codec codec = new Codec(tokenizer, bos, eos);
        // 1. SFT the whole (tiny) base on imperfect demonstrations: this is the frozen base from now on.
        List<SftSample> sft = new ArrayList<>();
        for (QuickstartTask.SftExample e : task.sftSet(settings.sftExamples(), settings.sftErrorRate()).examples()) {
          sft.add(new SftSample(codec.prompt(task.promptText(e.prompt())), codec.response(e.response())));
        }
        SftConfig sftConfig = SftConfig.defaults(settings.sftSteps(), 3e-3).withBatchSize(32).withMaskPrompt(false)
            .withSeed(settings.seed());
        progress.phaseStarted("sft", settings.sftSteps());
        new SftTrainer(model, null, sftConfig).train(sft, List.of(), m -> progress.step("sft", m));

        List<TaskPrompt> heldOut = task.heldOutPrompts(settings.evalPrompts());
        SamplingParams sampling = new SamplingParams(settings.maxNewTokens(), 1.0, 0, 1.0, settings.seed(),
            List.of(eos), List.of());
        Evaluation sftEval = evaluate(model, null, codec, heldOut, sampling);
        out.put("sft_gold", sftEval.gold);
        out.put("sft_gold_by_kind", sftEval.goldByKind);
        // The evaluation's own noise: the same SFT policy, the same prompts, other sampling seeds.
        double[] resampled = new double[EVAL_RESAMPLES];
        for (int r = 0; r < EVAL_RESAMPLES; r++) {
          resampled[r] = evaluate(model, null, codec, heldOut, sampling.withSeed(sampling.seed() + 7919L * (r + 1))).gold;
        }
        out.put("sft_gold_resampled_std", standardDeviation(resampled));

        // 2. Reward model from gold-labelled pairs of SFT samples (a perfect rater stands in for humans).
        List<TaskPrompt> rmPrompts = task.trainPrompts(settings.rmPrompts() + settings.evalPrompts())
            .subList(0, settings.rmPrompts());
        List<Preference> pairs = labelledPairs(model, codec, rmPrompts, sampling, settings.seed() + 1);
        // Accuracy is a proportion: the ~500 untied pairs of 1,000 prompts measure it to ±0.016, as much as
        // reward-model variants differ (BENCHMARKS.md); four times the prompts halve that, for ~20 s.
        List<TaskPrompt> rmHeldOut = task.heldOutPrompts(RM_EVAL_PROMPTS_PER_EVAL_PROMPT * settings.evalPrompts());
        List<Preference> heldOutPairs = labelledPairs(model, codec, rmHeldOut, sampling, settings.seed() + 2);
        Adapter rmAdapter = model.createAdapter("rm", LoraConfig.of(8, 16, "q", "k", "v", "o", "gate", "up", "down"),
            settings.seed());
        // Each token judged where it stands, plus the trunk's own likelihood (see Pooling): on the earlier,
        // weaker SFT trunk, reading only the last state reached 0.70 held-out accuracy and this 0.81-0.86
        // (on this one, 0.88-0.94; BENCHMARKS.md).
        RewardModel rm = new RewardModel(model, rmAdapter,
            RewardHead.random(settings.hidden(), 1, Pooling.TOKEN_SUM_LIKELIHOOD, settings.seed(), root));
        long rmSteps = (long) settings.rmEpochs() * ((pairs.size() + 15) / 16);
        RewardTrainer.Config rmConfig = RewardTrainer.Config.of(RewardTrainer.Trainable.HEAD_AND_ADAPTER, 16, 2e-3)
            .withEpochs(settings.rmEpochs()).withSeed(settings.seed())
            .withSchedule(LrSchedule.linearWarmupCosine(2e-3, rmSteps / 20, rmSteps, 2e-4));
        progress.phaseStarted("rm", rmSteps);
        try (RewardTrainer rmTrainer = new RewardTrainer(rm, rmConfig)) {
          rmTrainer.train(pairs.stream().map(p -> p.tokens).toList(), m -> {
            Metrics metrics = new Metrics();
            m.asMap().forEach(metrics::put);
            progress.step("rm", metrics);
          });
          out.put("rm_accuracy", rmTrainer.evaluate(heldOutPairs.stream().map(p -> p.tokens).toList()));
          out.put("rm_pairs", pairs.size());
          out.put("rm_heldout_pairs", heldOutPairs.size());
        }
        // Bradley-Terry fixes scores only up to a shift and scale; normalising them on the RM's own
        // training responses makes the KL weight mean the same thing whatever the RM learned.
        List<long[]> seenPrompts = new ArrayList<>();
        List<long[]> seenResponses = new ArrayList<>();
        for (Preference p : pairs) {
          seenPrompts.add(p.dpo.prompt());
          seenResponses.add(p.dpo.chosen());
          seenPrompts.add(p.dpo.prompt());
          seenResponses.add(p.dpo.rejected());
        }
        double[] seen = rmScores(rm, seenPrompts, seenResponses);
        double mean = Arrays.stream(seen).average().orElse(0);
        double std = Math.sqrt(Arrays.stream(seen).map(v -> (v - mean) * (v - mean)).average().orElse(1)) + 1e-6;
        out.put("rm_score_std", std);
        RewardFunction scores = rm.rewardFunction();
        RewardFunction rewardModel = (prompts, responses) ->
            Arrays.stream(scores.score(prompts, responses)).map(v -> (v - mean) / std).toArray();
        List<TaskPrompt> rlPrompts = task.trainPrompts(4000);
        LoraConfig policyAdapter = LoraConfig.of(8, 16, "q", "k", "v", "o", "gate", "up", "down");

        // 3. PPO against the reward model.
        Adapter ppo = model.createAdapter("ppo", policyAdapter, settings.seed() + 10);
        progress.phaseStarted("ppo", settings.ppoIterations());
        try (PpoTrainer trainer = new PpoTrainer(model, ppo, ppoConfig(), rewardModel,
            PPO_LR, 1.0, settings.seed())) {
          for (int i = 0; i < settings.ppoIterations(); i++) {
            progress.step("ppo", trainer.iteration(batch(codec, rlPrompts, i, settings.ppoBatch()), sampling, PPO_LR));
          }
        }
        Evaluation ppoEval = evaluate(model, ppo, codec, heldOut, sampling);
        ppoEval.reportAs("ppo", out);

        // 4. GRPO against the reward model.
        Adapter grpo = model.createAdapter("grpo", policyAdapter, settings.seed() + 20);
        GrpoConfig grpoConfig = new GrpoConfig(settings.grpoGroup(), GrpoConfig.Advantage.GRPO, true, 1e-4, 0.2, GRPO_KL, 1);
        progress.phaseStarted("grpo", settings.grpoIterations());
        try (GrpoTrainer trainer = new GrpoTrainer(model, grpo, grpoConfig, rewardModel, GRPO_LR, 1.0)) {
          for (int i = 0; i < settings.grpoIterations(); i++) {
            progress.step("grpo", trainer.iteration(batch(codec, rlPrompts, i, settings.grpoPrompts()), sampling, GRPO_LR));
          }
        }
        Evaluation grpoEval = evaluate(model, grpo, codec, heldOut, sampling);
        grpoEval.reportAs("grpo", out);

        // 5. DPO on the gold-labelled pairs.
        Adapter dpo = model.createAdapter("dpo", policyAdapter, settings.seed() + 30);
        progress.phaseStarted("dpo", settings.dpoSteps());
        try (DpoTrainer trainer = new DpoTrainer(model, dpo, DpoConfig.defaults(), DPO_LR, 1.0)) {
          for (int i = 0; i < settings.dpoSteps(); i++) {
            List<DpoExample> batch = new ArrayList<>();
            for (int j = 0; j < settings.dpoBatch(); j++) {
              batch.add(pairs.get((i * settings.dpoBatch() + j) % pairs.size()).dpo);
            }
            progress.step("dpo", trainer.step(batch, DPO_LR));
          }
        }
        Evaluation dpoEval = evaluate(model, dpo, codec, heldOut, sampling);
        dpoEval.reportAs("dpo", out);
        rm.close();
      }
    }
    out.put("seconds", (System.nanoTime() - start) / 1e9);
    return out;
  }

  /** Token-level view of the task's text: prompts start with BOS, responses end with EOS. */
  private record Codec(Tokenizer tokenizer, long bos, long eos) {
    long[] prompt(String text) {
      return Rollouts.join(new long[] {bos}, tokenizer.encode(text));
    }

    long[] response(String text) {
      return Rollouts.join(tokenizer.encode(text), new long[] {eos});
    }

    String text(long[] response) {
      return tokenizer.decode(response);
    }
  }

  private record Preference(TokenPair tokens, DpoExample dpo) {}

  private record Evaluation(double gold, Map<String, Double> goldByKind, double kl) {
    /** {@code <method>_gold}, {@code <method>_gold_by_kind} and {@code <method>_kl}. */
    void reportAs(String method, Map<String, Object> out) {
      out.put(method + "_gold", gold);
      out.put(method + "_gold_by_kind", goldByKind);
      out.put(method + "_kl", kl);
    }
  }

  /** Sample standard deviation (n − 1). */
  private static double standardDeviation(double[] values) {
    double mean = Arrays.stream(values).average().orElseThrow();
    return Math.sqrt(Arrays.stream(values).map(v -> (v - mean) * (v - mean)).sum() / (values.length - 1));
  }

  /** Reward-model scores of responses to their prompts, in chunks (the labelling pass scores 8,000 at once). */
  private static double[] rmScores(RewardModel rm, List<long[]> prompts, List<long[]> responses) {
    double[] out = new double[prompts.size()];
    for (int from = 0; from < prompts.size(); from += GENERATION_CHUNK) {
      int to = Math.min(prompts.size(), from + GENERATION_CHUNK);
      List<RewardModel.Score> scores = rm.score(prompts.subList(from, to), responses.subList(from, to));
      for (int i = from; i < to; i++) {
        out[i] = scores.get(i - from).mean();
      }
    }
    return out;
  }

  /** Samples for every prompt, {@link #GENERATION_CHUNK} rows per call (each chunk its own seed). */
  private static List<Generation> sample(Generator generator, List<long[]> prompts, Adapter adapter,
      SamplingParams sampling) {
    List<Generation> out = new ArrayList<>(prompts.size());
    for (int from = 0; from < prompts.size(); from += GENERATION_CHUNK) {
      out.addAll(generator.generateIds(prompts.subList(from, Math.min(prompts.size(), from + GENERATION_CHUNK)),
          adapter, sampling.withSeed(sampling.seed() + from)));
    }
    return out;
  }

  private List<long[]> batch(Codec codec, List<TaskPrompt> prompts, int iteration, int size) {
    List<long[]> out = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      out.add(codec.prompt(task.promptText(prompts.get((iteration * size + i) % prompts.size()))));
    }
    return out;
  }

  /** Two SFT samples per prompt, labelled by the perfect rater; ties are left out. */
  private List<Preference> labelledPairs(CausalLm model, Codec codec, List<TaskPrompt> prompts,
      SamplingParams sampling, long seed) {
    List<long[]> ids = new ArrayList<>();
    for (TaskPrompt p : prompts) {
      long[] prompt = codec.prompt(task.promptText(p));
      ids.add(prompt);
      ids.add(prompt);
    }
    List<Generation> samples = sample(new Generator(model, codec.tokenizer()), ids, null, sampling.withSeed(seed));
    PerfectRater rater = new PerfectRater(seed);
    List<Preference> pairs = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      long[] a = samples.get(2 * i).tokenIds();
      long[] b = samples.get(2 * i + 1).tokenIds();
      String textA = codec.text(a);
      Label label = rater.label(prompts.get(i), textA, codec.text(b));
      if (label.tie()) {
        continue;
      }
      boolean aWins = label.chosen().equals(textA);
      long[] chosen = aWins ? a : b;
      long[] rejected = aWins ? b : a;
      long[] prompt = ids.get(2 * i);
      pairs.add(new Preference(new TokenPair(Rollouts.join(prompt, chosen), Rollouts.join(prompt, rejected), 0),
          new DpoExample(prompt, chosen, rejected)));
    }
    return pairs;
  }

  /** Mean gold score of sampled responses on held-out prompts, and the mean summed log-ratio to the SFT policy. */
  private Evaluation evaluate(CausalLm model, Adapter adapter, Codec codec, List<TaskPrompt> prompts,
      SamplingParams sampling) {
    List<long[]> ids = new ArrayList<>();
    for (TaskPrompt p : prompts) {
      ids.add(codec.prompt(task.promptText(p)));
    }
    List<Generation> samples = sample(new Generator(model, codec.tokenizer()), ids, adapter,
        sampling.withSeed(sampling.seed() + 999));
    List<String> texts = samples.stream().map(Generation::text).toList();
    double total = 0;
    Map<String, double[]> sums = new TreeMap<>();
    for (int i = 0; i < prompts.size(); i++) {
      double score = gold.score(prompts.get(i), texts.get(i));
      double[] sum = sums.computeIfAbsent(prompts.get(i).kind().name().toLowerCase(Locale.ROOT), k -> new double[2]);
      sum[0] += score;
      sum[1]++;
      total += score;
    }
    double goldMean = total / prompts.size();
    Map<String, Double> byKind = new LinkedHashMap<>();
    sums.forEach((kind, sum) -> byKind.put(kind, sum[0] / sum[1]));
    double kl = 0;
    if (adapter != null) {
      List<long[]> responses = samples.stream().map(Generation::tokenIds).toList();
      List<float[]> policy = LogProbs.score(model, ids, responses, adapter, 1.0);
      List<float[]> reference = LogProbs.score(model, ids, responses, null, 1.0);
      for (int i = 0; i < prompts.size(); i++) {
        for (int t = 0; t < policy.get(i).length; t++) {
          kl += policy.get(i)[t] - reference.get(i)[t];
        }
      }
      kl /= prompts.size();
    }
    return new Evaluation(goldMean, byKind, kl);
  }
}

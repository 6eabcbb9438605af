package dev.troupe.algorithms.experiment;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.data.TokenCodec;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.optim.LrSchedule;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.reward.Pooling;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.sft.SftConfig;
import dev.troupe.algorithms.sft.SftSample;
import dev.troupe.algorithms.sft.SftTrainer;
import dev.troupe.algorithms.task.Label;
import dev.troupe.algorithms.task.PerfectRater;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Response;
import dev.troupe.protocol.Rollout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The quickstart task's setup, shared by {@code troupe experiment quickstart} and the quickstart
 * campaign: a tiny Llama SFT'd from scratch on imperfect demonstrations (the frozen base from then
 * on), gold-labelled pairs of its samples, and a reward model learned from them.
 */
public final class QuickstartSetup {

  /**
   * @param rmPrompts train prompts the perfect rater labels one pair of SFT samples for (ties are dropped)
   * @param evalPrompts held-out prompts for every gold score and KL; the reward model's accuracy uses four times as many
   */
  public record Sizes(long seed, int hidden, int layers, int sftExamples, double sftErrorRate, int sftSteps,
      int rmPrompts, int rmEpochs, int evalPrompts, int maxNewTokens) {}

  /** Held-out prompts whose pairs measure the reward model's accuracy, per gold-evaluation prompt. */
  static final int RM_EVAL_PROMPTS_PER_EVAL_PROMPT = 4;

  /** Train prompts the RL methods sample from. */
  static final int RL_PROMPTS = 4000;

  private final Sizes sizes;
  private final QuickstartTask task;

  public QuickstartSetup(Sizes sizes) {
    this.sizes = sizes;
    this.task = new QuickstartTask(sizes.seed());
  }

  public Sizes sizes() {
    return sizes;
  }

  public QuickstartTask task() {
    return task;
  }

  /** The tiny Llama's shape for this tokenizer: hidden × layers, 4 heads over 2 KV heads. */
  public ModelConfig modelConfig(Tokenizer tokenizer) {
    return ModelConfig.llama(tokenizer.vocabSize(), sizes.hidden(), sizes.layers(), 4, 2,
        sizes.hidden() * 8 / 3 / 16 * 16, 64).withEos(List.of(tokenizer.eosId().orElseThrow()));
  }

  /** Sampling at temperature 1 for up to maxNewTokens, ending at EOS. */
  public SamplingParams sampling(TokenCodec codec) {
    return new SamplingParams(sizes.maxNewTokens(), 1.0, 0, 1.0, sizes.seed(),
        List.of(codec.tokenizer().eosId().orElseThrow()), List.of());
  }

  /** Pre-training and SFT in one pass on the whole (tiny) base, from random weights: the frozen base from now on. */
  public CausalLm sft(TokenCodec codec, NDManager root, Quickstart.Progress progress) {
    CausalLm model = CausalLm.random(modelConfig(codec.tokenizer()), sizes.seed(), root);
    List<SftSample> sft = new ArrayList<>();
    for (QuickstartTask.SftExample e : task.sftSet(sizes.sftExamples(), sizes.sftErrorRate()).examples()) {
      sft.add(new SftSample(codec.prompt(task.promptText(e.prompt())), codec.response(e.response())));
    }
    SftConfig config = SftConfig.defaults(sizes.sftSteps(), 3e-3).withBatchSize(32).withMaskPrompt(false)
        .withSeed(sizes.seed());
    progress.phaseStarted("sft", sizes.sftSteps());
    new SftTrainer(model, null, config).train(sft, List.of(), m -> progress.step("sft", m));
    return model;
  }

  /** The held-out prompts every gold score and KL is measured on. */
  public List<TaskPrompt> heldOutPrompts() {
    return task.heldOutPrompts(sizes.evalPrompts());
  }

  /** The train prompts reward-model pairs are drawn from (the first rmPrompts of a longer stream). */
  public List<TaskPrompt> rewardModelPrompts() {
    return task.trainPrompts(sizes.rmPrompts() + sizes.evalPrompts()).subList(0, sizes.rmPrompts());
  }

  /**
   * Validation prompts: train-split prompts after the reward model's, which neither the reward model nor
   * any method trains on. The quickstart's settings are chosen on the reward model's scores here, never
   * on the gold score of the held-out prompts, which is the test.
   */
  public List<TaskPrompt> validationPrompts() {
    return task.trainPrompts(sizes.rmPrompts() + sizes.evalPrompts()).subList(sizes.rmPrompts(),
        sizes.rmPrompts() + sizes.evalPrompts());
  }

  /** The train prompts the RL methods sample from, in stream order. */
  public List<TaskPrompt> rlPrompts() {
    return task.trainPrompts(RL_PROMPTS);
  }

  /** The protocol's prompt for a task prompt: ids, text and kind. */
  public static Prompt prompt(String id, TaskPrompt p, QuickstartTask task, TokenCodec codec) {
    String text = task.promptText(p);
    Prompt.Builder b = Prompt.newBuilder().setId(id).setText(text).setKind(p.kind().name().toLowerCase(Locale.ROOT));
    for (long t : codec.prompt(text)) {
      b.addTokenIds(t);
    }
    return b.build();
  }

  /**
   * Two samples of {@code model} (no adapter) per prompt, labelled by the perfect rater (the gold
   * scorer); ties are left out. Pair ids are {@code <idPrefix><index of the prompt>}.
   */
  public List<PreferencePair> labelledPairs(CausalLm model, TokenCodec codec, List<TaskPrompt> prompts, long seed,
      String idPrefix) {
    GenerateRequest.Builder request = GenerateRequest.newBuilder().setRequestId(idPrefix + "samples")
        .setSamplesPerPrompt(2).setSampling(RolloutGenerator.sampling(sampling(codec).withSeed(seed)));
    for (int i = 0; i < prompts.size(); i++) {
      request.addPrompts(prompt(idPrefix + i, prompts.get(i), task, codec));
    }
    List<Rollout> samples = new RolloutGenerator(model, codec.tokenizer(), "setup").generate(request.build(), null, 0, "");
    PerfectRater rater = new PerfectRater(seed);
    List<PreferencePair> pairs = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      Rollout a = samples.get(2 * i);
      Rollout b = samples.get(2 * i + 1);
      Label label = rater.label(prompts.get(i), a.getText(), b.getText());
      if (label.tie()) {
        continue;
      }
      boolean aWins = label.chosen().equals(a.getText());
      String id = idPrefix + i;
      Comparison comparison = Comparison.newBuilder().setId(id).setPrompt(a.getPrompt())
          .addResponses(response("a", a)).addResponses(response("b", b)).build();
      pairs.add(PreferencePair.newBuilder().setId(id).setComparison(comparison)
          .setLabel(dev.troupe.protocol.Label.newBuilder().setId(id).setComparisonId(id)
              .setChosenResponseId(aWins ? "a" : "b").setSource(FeedbackSource.FEEDBACK_SOURCE_GOLD)
              .setRaterId("gold").setConfidence(1.0))
          .build());
    }
    return pairs;
  }

  private static Response response(String id, Rollout r) {
    return Response.newBuilder().setId(id).addAllTokenIds(r.getResponseTokenIdsList()).setText(r.getText())
        .setAdapter(r.getAdapter()).setAdapterVersion(r.getAdapterVersion()).build();
  }

  /**
   * A reward model, its held-out accuracy (overall and per task kind) and the spread of its scores on
   * its own training responses.
   */
  public record TrainedRewardModel(RewardModel model, double accuracy, Map<String, Double> accuracyByKind, int pairs,
      int heldOutPairs, double mean, double std) {
    /** Scores shifted and scaled to mean 0, std 1 on the training responses. */
    public RewardFunction normalized() {
      return normalized(model.rewardFunction(), mean, std);
    }

    /**
     * Bradley-Terry fixes scores only up to a shift and scale; normalising them on the reward model's
     * own training responses makes the KL weight mean the same thing whatever the model learned.
     */
    public static RewardFunction normalized(RewardFunction raw, double mean, double std) {
      return (prompts, responses) -> Arrays.stream(raw.score(prompts, responses)).map(v -> (v - mean) / std).toArray();
    }
  }

  /**
   * How the quickstart's reward model is trained: its adapter's LoRA rank, its ensemble of heads (each on
   * its own bootstrap resample of the pairs when {@code bootstrap}), the peak learning rate of its
   * warm-up + cosine schedule and its epochs over the pairs.
   */
  public record RewardModelRecipe(int rank, int members, boolean bootstrap, double lr, int epochs) {
    public RewardModelRecipe {
      if (rank < 1 || members < 1 || epochs < 1 || !(lr > 0)) {
        throw new IllegalArgumentException("rank, members and epochs must be >= 1 and lr > 0, got " + rank + ", "
            + members + ", " + epochs + ", " + lr);
      }
    }

    /** The quickstart's: rank 8, one head, 2e-3, {@code epochs} passes. */
    public static RewardModelRecipe quickstart(int epochs) {
      return new RewardModelRecipe(8, 1, false, 2e-3, epochs);
    }
  }

  /**
   * A reward model (its own LoRA adapter and a token-sum-plus-likelihood head on the SFT base) trained
   * on {@code pairs}, its accuracy on pairs of held-out prompts, and its score normalisation.
   */
  public TrainedRewardModel trainRewardModel(CausalLm model, TokenCodec codec, List<PreferencePair> pairs,
      NDManager root, Quickstart.Progress progress) {
    // Accuracy is a proportion: the ~500 untied pairs of 1,000 prompts measure it to ±0.016, as much as
    // reward-model variants differ (BENCHMARKS.md); four times the prompts halve that, for ~20 s.
    return trainRewardModel(model, pairs, heldOutRewardPairs(model, codec), RewardModelRecipe.quickstart(sizes.rmEpochs()),
        root, progress);
  }

  /** {@link #trainRewardModel(CausalLm, TokenCodec, List, NDManager, Quickstart.Progress)} by {@code recipe}. */
  public TrainedRewardModel trainRewardModel(CausalLm model, List<PreferencePair> pairs, List<PreferencePair> heldOut,
      RewardModelRecipe recipe, NDManager root, Quickstart.Progress progress) {
    Adapter adapter = model.createAdapter("reward-model",
        LoraConfig.of(recipe.rank(), 2 * recipe.rank(), "q", "k", "v", "o", "gate", "up", "down"), sizes.seed());
    // Each token judged where it stands, plus the trunk's own likelihood (see Pooling): on the earlier,
    // weaker SFT trunk, reading only the last state reached 0.70 held-out accuracy and this 0.81-0.86
    // (on this one, 0.88-0.94; BENCHMARKS.md).
    RewardModel rm = new RewardModel(model, adapter,
        RewardHead.random(sizes.hidden(), recipe.members(), Pooling.TOKEN_SUM_LIKELIHOOD, sizes.seed(), root));
    long steps = (long) recipe.epochs() * ((pairs.size() + 15) / 16);
    RewardTrainer.Config config = RewardTrainer.Config.of(RewardTrainer.Trainable.HEAD_AND_ADAPTER, 16, recipe.lr())
        .withEpochs(recipe.epochs()).withSeed(sizes.seed()).withBootstrap(recipe.bootstrap())
        .withSchedule(LrSchedule.linearWarmupCosine(recipe.lr(), steps / 20, steps, recipe.lr() / 10));
    progress.phaseStarted("rm", steps);
    boolean[] right;
    try (RewardTrainer trainer = new RewardTrainer(rm, config)) {
      trainer.train(PreferencePairs.tokenPairs(pairs), m -> {
        Metrics metrics = new Metrics();
        m.asMap().forEach(metrics::put);
        progress.step("rm", metrics);
      });
      right = RewardTrainer.rankings(rm, PreferencePairs.tokenPairs(heldOut), config.batchSize());
    }
    List<long[]> prompts = new ArrayList<>();
    List<long[]> responses = new ArrayList<>();
    for (PreferencePairs.Tokens t : PreferencePairs.tokens(pairs)) {
      prompts.add(t.prompt());
      responses.add(t.chosen());
      prompts.add(t.prompt());
      responses.add(t.rejected());
    }
    double[] seen = scoreInChunks(rm.rewardFunction(), prompts, responses);
    double mean = Rollouts.mean(seen);
    double std = Math.sqrt(Arrays.stream(seen).map(v -> (v - mean) * (v - mean)).average().orElse(1)) + 1e-6;
    return new TrainedRewardModel(rm, RewardTrainer.accuracy(right), accuracyByKind(heldOut, right), pairs.size(), heldOut.size(),
        mean, std);
  }

  /** The gold-labelled pairs of held-out prompts the reward model's accuracy is measured on. */
  public List<PreferencePair> heldOutRewardPairs(CausalLm model, TokenCodec codec) {
    return labelledPairs(model, codec, task.heldOutPrompts(RM_EVAL_PROMPTS_PER_EVAL_PROMPT * sizes.evalPrompts()),
        sizes.seed() + 2, "rm-heldout-");
  }

  /**
   * The share of {@code pairs} ranked right ({@code right[i]} for pair i), per task kind of the pair's
   * prompt: a reward model that cannot tell a kind's better answer cannot teach it to the policy.
   */
  public static Map<String, Double> accuracyByKind(List<PreferencePair> pairs, boolean[] right) {
    if (pairs.size() != right.length) {
      throw new IllegalArgumentException(pairs.size() + " pairs but " + right.length + " rankings");
    }
    Map<String, int[]> counts = new TreeMap<>();
    for (int i = 0; i < pairs.size(); i++) {
      int[] c = counts.computeIfAbsent(pairs.get(i).getComparison().getPrompt().getKind(), k -> new int[2]);
      c[0] += right[i] ? 1 : 0;
      c[1]++;
    }
    Map<String, Double> accuracy = new TreeMap<>();
    counts.forEach((kind, c) -> accuracy.put(kind, (double) c[0] / c[1]));
    return accuracy;
  }

  /** The reward function over many rows, {@link RolloutGenerator#CHUNK_ROWS} at a time. */
  static double[] scoreInChunks(RewardFunction reward, List<long[]> prompts, List<long[]> responses) {
    double[] out = new double[prompts.size()];
    for (int from = 0; from < prompts.size(); from += RolloutGenerator.CHUNK_ROWS) {
      int to = Math.min(prompts.size(), from + RolloutGenerator.CHUNK_ROWS);
      System.arraycopy(reward.score(prompts.subList(from, to), responses.subList(from, to)), 0, out, from, to - from);
    }
    return out;
  }
}

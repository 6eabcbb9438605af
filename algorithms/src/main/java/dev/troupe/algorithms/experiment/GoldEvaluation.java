package dev.troupe.algorithms.experiment;

import dev.troupe.algorithms.data.TokenCodec;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.Rollout;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * How a policy is judged on the quickstart task: one sample per held-out prompt, the hidden gold
 * scorer's mean (overall and by kind), and the KL to the reference (adapter off) as the mean over
 * samples of the summed log-ratio of the sampled tokens.
 */
public final class GoldEvaluation {
  private GoldEvaluation() {}

  /** Added to the sampling seed of every evaluation, so that it never reuses a training sample's draw. */
  static final long SEED_OFFSET = 999;

  public record Result(double gold, Map<String, Double> goldByKind, double kl) {
    /** {@code <method>_gold}, {@code <method>_gold_by_kind} and {@code <method>_kl}. */
    public void reportAs(String method, Map<String, Object> out) {
      out.put(method + "_gold", gold);
      out.put(method + "_gold_by_kind", goldByKind);
      out.put(method + "_kl", kl);
    }
  }

  /** The generation request of an evaluation: each prompt once, sampled at {@code sampling}'s seed + 999. */
  public static GenerateRequest request(String requestId, String adapter, long version, List<TaskPrompt> prompts,
      QuickstartTask task, TokenCodec codec, SamplingParams sampling) {
    GenerateRequest.Builder request = GenerateRequest.newBuilder().setRequestId(requestId).setAdapter(adapter)
        .setAdapterVersion(version).setSamplesPerPrompt(1)
        .setSampling(RolloutGenerator.sampling(sampling.withSeed(sampling.seed() + SEED_OFFSET)));
    for (int i = 0; i < prompts.size(); i++) {
      request.addPrompts(QuickstartSetup.prompt(requestId + "/" + i, prompts.get(i), task, codec));
    }
    return request.build();
  }

  /**
   * Gold and KL from one sample per prompt ({@code samples.get(i)} answers {@code prompts.get(i)},
   * its text decoded) and the reference's log-probs of each sample's tokens; a null reference means
   * the samples are the reference policy's own (KL 0).
   */
  public static Result score(List<TaskPrompt> prompts, List<Rollout> samples, List<float[]> reference) {
    if (samples.size() != prompts.size()) {
      throw new IllegalArgumentException(samples.size() + " samples for " + prompts.size() + " prompts");
    }
    GoldScorer gold = new GoldScorer();
    double total = 0;
    Map<String, double[]> sums = new TreeMap<>();
    for (int i = 0; i < prompts.size(); i++) {
      double score = gold.score(prompts.get(i), samples.get(i).getText());
      double[] sum = sums.computeIfAbsent(kind(prompts.get(i)), k -> new double[2]);
      sum[0] += score;
      sum[1]++;
      total += score;
    }
    Map<String, Double> byKind = new LinkedHashMap<>();
    sums.forEach((kind, sum) -> byKind.put(kind, sum[0] / sum[1]));
    double kl = meanKl(samples, reference);
    return new Result(total / prompts.size(), byKind, kl);
  }

  /** The whole evaluation in this process: samples of {@code adapter} (null: the SFT policy), reference pass, scores. */
  public static Result evaluate(CausalLm model, Adapter adapter, TokenCodec codec, QuickstartTask task,
      List<TaskPrompt> prompts, SamplingParams sampling) {
    Samples samples = sample(model, adapter, codec, task, prompts, sampling);
    return score(prompts, samples.rollouts(), samples.reference());
  }

  /**
   * One sample per prompt of {@code adapter} (null: the SFT policy) and the reference's log-probs of
   * each ({@code reference} null for the SFT policy's own samples).
   */
  public record Samples(List<Rollout> rollouts, List<float[]> reference) {}

  /** The samples an evaluation scores (see {@link #request}), with the reference pass for the KL. */
  public static Samples sample(CausalLm model, Adapter adapter, TokenCodec codec, QuickstartTask task,
      List<TaskPrompt> prompts, SamplingParams sampling) {
    GenerateRequest request = request("eval", adapter == null ? "" : adapter.name(), 0, prompts, task, codec, sampling);
    List<Rollout> samples = new RolloutGenerator(model, codec.tokenizer(), "eval").generate(request, adapter, 0, "");
    return new Samples(samples, adapter == null ? null : referenceLogProbs(model, samples));
  }

  /**
   * A policy as the reward model sees it: its mean score (overall and by kind) on one sample per
   * prompt, and the KL to the reference. What the quickstart's settings are chosen on, on validation
   * prompts, since the gold score is the test.
   */
  public record ProxyResult(double score, Map<String, Double> scoreByKind, double kl) {}

  /** The reward function's view of {@code samples} (answers to {@code prompts}, in order). */
  public static ProxyResult proxy(List<TaskPrompt> prompts, Samples samples, RewardFunction rewardModel) {
    List<Rollout> rollouts = samples.rollouts();
    double[] scores = QuickstartSetup.scoreInChunks(rewardModel, Rollouts.promptIds(rollouts),
        Rollouts.responseIds(rollouts));
    Map<String, double[]> sums = new TreeMap<>();
    for (int i = 0; i < prompts.size(); i++) {
      double[] sum = sums.computeIfAbsent(kind(prompts.get(i)), k -> new double[2]);
      sum[0] += scores[i];
      sum[1]++;
    }
    Map<String, Double> byKind = new LinkedHashMap<>();
    sums.forEach((kind, sum) -> byKind.put(kind, sum[0] / sum[1]));
    return new ProxyResult(Rollouts.mean(scores), byKind, meanKl(rollouts, samples.reference()));
  }

  /** The prompt's kind as results name it: sort, count, reverse, repeat, polite. */
  public static String kind(TaskPrompt prompt) {
    return prompt.kind().name().toLowerCase(Locale.ROOT);
  }

  /** The mean over samples of Σ_t (log π − log π_ref) of the sampled tokens; 0 without a reference. */
  static double meanKl(List<Rollout> samples, List<float[]> reference) {
    if (reference == null) {
      return 0;
    }
    double kl = 0;
    for (int i = 0; i < samples.size(); i++) {
      Rollout r = samples.get(i);
      for (int t = 0; t < r.getBehaviourLogprobsCount(); t++) {
        kl += r.getBehaviourLogprobs(t) - reference.get(i)[t];
      }
    }
    return kl / samples.size();
  }

  /** The reference policy's (adapter off) log-probs of each rollout's response tokens, at temperature 1. */
  public static List<float[]> referenceLogProbs(CausalLm model, List<Rollout> samples) {
    List<float[]> out = new ArrayList<>(samples.size());
    for (int from = 0; from < samples.size(); from += RolloutGenerator.CHUNK_ROWS) {
      List<Rollout> chunk = samples.subList(from, Math.min(samples.size(), from + RolloutGenerator.CHUNK_ROWS));
      out.addAll(LogProbs.score(model, Rollouts.promptIds(chunk), Rollouts.responseIds(chunk), null, 1.0));
    }
    return out;
  }
}

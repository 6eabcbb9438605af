package dev.troupe.algorithms.experiment;

import dev.troupe.algorithms.data.TokenCodec;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.Rollout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Best-of-n sampling against the reward model, the baseline of Gao et al. 2022 ("Scaling Laws for
 * Reward Model Overoptimization", section 2.2): draw n answers from the SFT policy, keep the one the
 * reward model scores highest. It needs no training, and its KL to the SFT policy is known in closed
 * form, log n − (n − 1)/n nats (Stiennon et al. 2020, appendix G.3), so it places a curve of gold
 * against KL beside the trained methods' for free.
 */
public final class BestOfN {
  private BestOfN() {}

  /** Added to the sampling seed so that these samples are neither a training step's nor an evaluation's. */
  static final long SEED_OFFSET = 7_777;

  /**
   * One n: the analytical KL, and the expected gold and reward-model score of the reward model's pick.
   *
   * @param proxy the pick's normalised reward-model score (what best-of-n maximises)
   */
  public record Point(int n, double kl, double gold, double proxy) {}

  /** KL(best-of-n ‖ π) = log n − (n − 1)/n, in nats. */
  public static double kl(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("n must be >= 1, got " + n);
    }
    return Math.log(n) - (n - 1.0) / n;
  }

  /**
   * The curve for n = 1 … {@code maxN} from {@code maxN} samples of the SFT policy per prompt (the
   * model without adapter), each n's figure the exact mean over every n-subset of the samples (see
   * {@link #expectedPick}), averaged over prompts.
   */
  public static List<Point> curve(CausalLm model, TokenCodec codec, QuickstartTask task, List<TaskPrompt> prompts,
      SamplingParams sampling, RewardFunction rewardModel, int maxN) {
    GenerateRequest.Builder request = GenerateRequest.newBuilder().setRequestId("best-of-n").setSamplesPerPrompt(maxN)
        .setSampling(RolloutGenerator.sampling(sampling.withSeed(sampling.seed() + SEED_OFFSET)));
    for (int i = 0; i < prompts.size(); i++) {
      request.addPrompts(QuickstartSetup.prompt("best-of-n/" + i, prompts.get(i), task, codec));
    }
    List<Rollout> samples = new RolloutGenerator(model, codec.tokenizer(), "best-of-n").generate(request.build(), null,
        0, "");
    double[] proxy = QuickstartSetup.scoreInChunks(rewardModel, Rollouts.promptIds(samples),
        Rollouts.responseIds(samples));
    GoldScorer scorer = new GoldScorer();
    double[] gold = new double[samples.size()];
    for (int i = 0; i < samples.size(); i++) {
      gold[i] = scorer.score(prompts.get(i / maxN), samples.get(i).getText());
    }
    double[] goldSum = new double[maxN + 1];
    double[] proxySum = new double[maxN + 1];
    for (int p = 0; p < prompts.size(); p++) {
      double[] promptProxy = Arrays.copyOfRange(proxy, p * maxN, (p + 1) * maxN);
      double[] promptGold = Arrays.copyOfRange(gold, p * maxN, (p + 1) * maxN);
      for (int n = 1; n <= maxN; n++) {
        goldSum[n] += expectedPick(promptProxy, promptGold, n);
        proxySum[n] += expectedPick(promptProxy, promptProxy, n);
      }
    }
    List<Point> out = new ArrayList<>(maxN);
    for (int n = 1; n <= maxN; n++) {
      out.add(new Point(n, kl(n), goldSum[n] / prompts.size(), proxySum[n] / prompts.size()));
    }
    return out;
  }

  /**
   * The mean of {@code value} at the highest-{@code score} sample of a uniformly random n-subset of the
   * N samples, without drawing any: with the samples ranked by score from the lowest (rank 0), the one
   * at rank i is the subset's best with probability C(i, n − 1) / C(N, n) (the unbiased estimator of
   * Nakano et al. 2021, "WebGPT", appendix; used by Gao et al. 2022). Equal scores rank by index.
   */
  static double expectedPick(double[] score, double[] value, int n) {
    int total = score.length;
    if (n < 1 || n > total || value.length != total) {
      throw new IllegalArgumentException("need 1 <= n <= " + total + " and one value per score, got n " + n
          + " and " + value.length + " values");
    }
    Integer[] order = new Integer[total];
    for (int i = 0; i < total; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> score[i]).thenComparingInt(i -> i));
    double sum = 0;
    // C(i, n−1) / C(N, n) for i = n−1 … N−1, each from the last: C(i+1, n−1) = C(i, n−1) · (i+1) / (i−n+2).
    double weight = 1 / binomial(total, n);
    for (int rank = n - 1; rank < total; rank++) {
      sum += weight * value[order[rank]];
      weight *= (rank + 1.0) / (rank - n + 2.0);
    }
    return sum;
  }

  private static double binomial(int total, int k) {
    double out = 1;
    for (int i = 1; i <= k; i++) {
      out = out * (total - k + i) / i;
    }
    return out;
  }
}

package dev.troupe.actors.judge;

import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.protocol.Comparison;
import java.util.ArrayList;
import java.util.List;

/**
 * The campaign's reward model as a judge of two responses (online DPO with feedback = reward-model):
 * under Bradley–Terry, P(first better) = σ(r₁ − r₂).
 */
public final class RewardModelJudge implements Judge {
  private final RewardFunction reward;

  public RewardModelJudge(RewardFunction reward) {
    this.reward = reward;
  }

  @Override
  public String id() {
    return "reward-model";
  }

  @Override
  public String rubricSha256() {
    return "";
  }

  @Override
  public List<Verdict> judge(List<Comparison> comparisons) {
    List<long[]> prompts = new ArrayList<>();
    List<long[]> responses = new ArrayList<>();
    for (Comparison c : comparisons) {
      Comparisons.requirePair(c);
      long[] prompt = c.getPrompt().getTokenIdsList().stream().mapToLong(Long::longValue).toArray();
      for (int i = 0; i < 2; i++) {
        prompts.add(prompt);
        responses.add(c.getResponses(i).getTokenIdsList().stream().mapToLong(Long::longValue).toArray());
      }
    }
    double[] scores = reward.score(prompts, responses);
    List<Verdict> out = new ArrayList<>(comparisons.size());
    for (int i = 0; i < comparisons.size(); i++) {
      double p = 1 / (1 + Math.exp(-(scores[2 * i] - scores[2 * i + 1])));
      out.add(Verdict.fromProbability(comparisons.get(i), p));
    }
    return out;
  }
}

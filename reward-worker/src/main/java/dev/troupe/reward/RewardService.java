package dev.troupe.reward;

import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.Score;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** A reward worker's scorers by name (the campaign's reward model is "reward-model"). */
public final class RewardService implements RewardBackend {
  private final Map<String, RewardFunction> scorers = new ConcurrentHashMap<>();

  /** Serves {@code scorer} under {@code name}, replacing any earlier one (a retrained reward model). */
  public void serve(String name, RewardFunction scorer) {
    scorers.put(name, scorer);
  }

  @Override
  public ScoreBatch score(ScoreRequest request) {
    RewardFunction scorer = scorers.get(request.getRewardModel());
    if (scorer == null) {
      throw new IllegalArgumentException("unknown reward model '" + request.getRewardModel() + "' (served: "
          + new java.util.TreeSet<>(scorers.keySet()) + ")");
    }
    ScoreBatch.Builder out = ScoreBatch.newBuilder().setRequestId(request.getRequestId());
    List<Rollout> rows = request.getRolloutsList();
    for (int from = 0; from < rows.size(); from += RolloutGenerator.CHUNK_ROWS) {
      List<Rollout> chunk = rows.subList(from, Math.min(rows.size(), from + RolloutGenerator.CHUNK_ROWS));
      double[] values = scorer.score(Rollouts.promptIds(chunk), Rollouts.responseIds(chunk));
      for (int i = 0; i < chunk.size(); i++) {
        out.addScores(Score.newBuilder().setRolloutId(chunk.get(i).getId()).setValue(values[i])
            .setScorer(request.getRewardModel()));
      }
    }
    return out.build();
  }
}

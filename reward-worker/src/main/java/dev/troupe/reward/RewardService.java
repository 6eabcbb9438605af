package dev.troupe.reward;

import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.model.lifecycle.UsageGate;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.protocol.Rollout;
import dev.troupe.protocol.Score;
import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;
import dev.troupe.protocol.RewardTrainRequest;
import dev.troupe.protocol.RewardTrainResult;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

/**
 * A reward worker's scorers by name (the campaign's reward model is "reward-model"), some of them
 * trainable: a loop whose scalar algorithm reads a feedback source's labels scores with its own
 * reward model, trained step by step on those labels as they come.
 */
public final class RewardService implements RewardBackend, AutoCloseable {
  private final Map<String, RewardFunction> scorers = new ConcurrentHashMap<>();
  private final Map<String, Trainable> trainable = new ConcurrentHashMap<>();

  /** A reward model that learns while it serves: training and scoring take turns on its lock. */
  private record Trainable(RewardModel model, RewardTrainer trainer, UnaryOperator<double[]> normalize)
      implements RewardFunction {
    @Override
    public double[] score(List<long[]> prompts, List<long[]> responses) {
      synchronized (this) {
        return normalize.apply(model.rewardFunction().score(prompts, responses));
      }
    }
  }

  /** Serves {@code scorer} under {@code name}, replacing any earlier one. */
  public void serve(String name, RewardFunction scorer) {
    scorers.put(name, scorer);
  }

  /**
   * Serves {@code model} under {@code name} and trains it on {@link #train} requests with {@code config};
   * scores pass through {@code normalize} (the campaign reward model's shift and scale, say).
   */
  public void serveTrainable(String name, RewardModel model, RewardTrainer.Config config,
      UnaryOperator<double[]> normalize) {
    Trainable t = new Trainable(model, new RewardTrainer(model, config), normalize);
    Trainable old = trainable.put(name, t);
    if (old != null) {
      old.trainer().close();
    }
    scorers.put(name, t);
  }

  @Override
  public ScoreBatch score(ScoreRequest request) {
    try (UsageGate.Use use = gate.enter()) {
      return scoreInside(request);
    }
  }

  /**
   * The named scorer as a plain function that enters this service's gate on every call (what an
   * in-process judge uses, so that closing the service waits for it too).
   */
  public RewardFunction scorer(String name) {
    return (prompts, responses) -> {
      try (UsageGate.Use use = gate.enter()) {
        RewardFunction scorer = scorers.get(name);
        if (scorer == null) {
          throw new IllegalArgumentException("unknown reward model '" + name + "'");
        }
        return scorer.score(prompts, responses);
      }
    };
  }

  private ScoreBatch scoreInside(ScoreRequest request) {
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

  /** One Bradley–Terry step of a trainable reward model on the request's pairs. */
  @Override
  public RewardTrainResult train(RewardTrainRequest request) {
    try (UsageGate.Use use = gate.enter()) {
      return trainInside(request);
    }
  }

  private RewardTrainResult trainInside(RewardTrainRequest request) {
    Trainable t = trainable.get(request.getRewardModel());
    if (t == null) {
      throw new IllegalArgumentException("reward model '" + request.getRewardModel() + "' is not trainable here"
          + " (trainable: " + new java.util.TreeSet<>(trainable.keySet()) + ")");
    }
    if (request.getPairsCount() == 0) {
      throw new IllegalArgumentException("no pairs to train reward model '" + request.getRewardModel() + "' on");
    }
    RewardTrainer.StepMetrics m;
    synchronized (t) {
      m = t.trainer().step(PreferencePairs.tokenPairs(request.getPairsList()));
    }
    return RewardTrainResult.newBuilder().setRequestId(request.getRequestId()).putAllMetrics(m.asMap()).build();
  }

  /** Refuses new work, waits for the work under way, then frees the trainers' optimizer state. */
  @Override
  public void close() {
    if (gate.closeAndAwait(java.time.Duration.ofMinutes(2))) {
      trainable.values().forEach(t -> t.trainer().close());
    }
  }

  private final UsageGate gate = new UsageGate("the reward service");
}

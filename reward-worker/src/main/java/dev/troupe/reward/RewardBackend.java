package dev.troupe.reward;

import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.RewardTrainRequest;
import dev.troupe.protocol.RewardTrainResult;
import dev.troupe.protocol.ScoreRequest;

/** The tensor work a {@link RewardWorker} schedules. Thread-safe. */
public interface RewardBackend {
  ScoreBatch score(ScoreRequest request);

  /** One training step of a trainable reward model (a loop's, learning its feedback source's labels). */
  RewardTrainResult train(RewardTrainRequest request);
}

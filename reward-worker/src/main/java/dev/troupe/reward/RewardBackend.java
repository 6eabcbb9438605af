package dev.troupe.reward;

import dev.troupe.protocol.ScoreBatch;
import dev.troupe.protocol.ScoreRequest;

/** The tensor work a {@link RewardWorker} schedules. Thread-safe. */
public interface RewardBackend {
  ScoreBatch score(ScoreRequest request);
}

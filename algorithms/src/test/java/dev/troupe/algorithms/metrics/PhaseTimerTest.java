package dev.troupe.algorithms.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What a step's phase timings are reported under; their values are wall-clock readings, never asserted. */
class PhaseTimerTest {

  @Test
  void eachPhaseIsOneMetricInFirstLapOrderAndTheTotalComesLast() {
    PhaseTimer timer = new PhaseTimer()
        .lap(MetricNames.TIME_GENERATE)
        .lap(MetricNames.TIME_SCORE)
        .lap(MetricNames.TIME_UPDATE)
        // A phase that recurs (one update per minibatch) adds to its first entry, not a new one.
        .lap(MetricNames.TIME_UPDATE)
        .lap(MetricNames.TIME_GENERATE);
    Metrics metrics = timer.total(MetricNames.TIME_ITERATION);
    assertEquals(List.of(MetricNames.TIME_GENERATE, MetricNames.TIME_SCORE, MetricNames.TIME_UPDATE,
        MetricNames.TIME_ITERATION), List.copyOf(metrics.asMap().keySet()));
  }

  @Test
  void totalIsASnapshotThatLaterLapsDoNotChange() {
    PhaseTimer timer = new PhaseTimer().lap(MetricNames.TIME_REFERENCE);
    Metrics first = timer.total(MetricNames.TIME_STEP);
    timer.lap(MetricNames.TIME_UPDATE);
    assertEquals(List.of(MetricNames.TIME_REFERENCE, MetricNames.TIME_STEP), List.copyOf(first.asMap().keySet()));
    assertEquals(List.of(MetricNames.TIME_REFERENCE, MetricNames.TIME_UPDATE, MetricNames.TIME_STEP),
        List.copyOf(timer.total(MetricNames.TIME_STEP).asMap().keySet()));
  }
}

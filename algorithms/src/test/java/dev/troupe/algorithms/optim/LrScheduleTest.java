package dev.troupe.algorithms.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LrScheduleTest {

  @Test
  void constantIsTheSameAtEveryStep() {
    LrSchedule schedule = LrSchedule.constant(3e-4);
    assertEquals(3e-4, schedule.lr(0));
    assertEquals(3e-4, schedule.lr(1_000_000));
  }

  @Test
  void cosineWarmsUpLinearlyThenFollowsAHalfCosineDownToTheFloor() {
    LrSchedule schedule = LrSchedule.linearWarmupCosine(1e-3, 100, 1100, 1e-4);
    assertEquals(0.0, schedule.lr(0), 1e-15);
    assertEquals(5e-4, schedule.lr(50), 1e-15, "half-way through warm-up");
    assertEquals(1e-3, schedule.lr(100), 1e-15, "end of warm-up: the peak");
    assertEquals(5.5e-4, schedule.lr(600), 1e-15, "half-way through decay: the mean of peak and floor");
    assertEquals(1e-4 + 9e-4 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), schedule.lr(350), 1e-15);
    assertEquals(1e-4, schedule.lr(1100), 1e-15, "end");
    assertEquals(1e-4, schedule.lr(5000), 1e-15, "after the end");
  }

  @Test
  void aSecondOptimizerAtAnotherPeakFollowsTheSameScheduleShape() {
    OptimizerSettings policy = OptimizerSettings.of(1e-3).withMaxGradNorm(0.5)
        .withSchedule(LrSchedule.linearWarmupLinearDecay(1e-3, 10, 110));
    OptimizerSettings critic = policy.withPeakLr(1e-2);
    assertEquals(1e-2, critic.lr());
    assertEquals(0.5, critic.maxGradNorm(), "clipping as the policy's");
    for (long step : new long[] {0, 5, 10, 60, 110, 200}) {
      assertEquals(10 * policy.lrAt(step), critic.lrAt(step), 1e-15, "update " + step);
    }
    assertEquals(1e-2, critic.lrAt(10), 1e-15, "the peak where the policy's is");
    assertEquals(3e-4, OptimizerSettings.of(1e-3).withPeakLr(3e-4).lrAt(1000), "no schedule: the rate throughout");
    assertThrows(IllegalArgumentException.class, () -> policy.withPeakLr(Double.NaN));
  }

  @Test
  void linearDecayWarmsUpThenFallsToZeroAtTheEnd() {
    LrSchedule schedule = LrSchedule.linearWarmupLinearDecay(2e-3, 10, 110);
    assertEquals(0.0, schedule.lr(0), 1e-15);
    assertEquals(1e-3, schedule.lr(5), 1e-15, "half-way through warm-up");
    assertEquals(2e-3, schedule.lr(10), 1e-15, "end of warm-up: the peak");
    assertEquals(1e-3, schedule.lr(60), 1e-15, "half-way through decay");
    assertEquals(0.0, schedule.lr(110), 1e-15, "end");
    assertEquals(0.0, schedule.lr(200), 1e-15, "after the end");
  }

  @Test
  void noWarmUpStartsAtThePeak() {
    assertEquals(1e-3, LrSchedule.linearWarmupCosine(1e-3, 0, 10, 0).lr(0), 1e-15);
    assertEquals(1e-3, LrSchedule.linearWarmupLinearDecay(1e-3, 0, 10).lr(0), 1e-15);
  }

  @Test
  void inconsistentStepCountsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> LrSchedule.linearWarmupCosine(1e-3, 20, 10, 0));
    assertThrows(IllegalArgumentException.class, () -> LrSchedule.linearWarmupLinearDecay(1e-3, 0, 0));
    assertThrows(IllegalArgumentException.class, () -> LrSchedule.linearWarmupCosine(1e-3, 0, 10, 1e-2));
  }
}

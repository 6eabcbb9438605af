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

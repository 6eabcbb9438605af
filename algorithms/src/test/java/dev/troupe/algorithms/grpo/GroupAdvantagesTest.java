package dev.troupe.algorithms.grpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class GroupAdvantagesTest {
  private final NDManager manager = NDManager.newBaseManager();

  @AfterEach
  void close() {
    manager.close();
  }

  // Two prompts, three responses each: a spread group and a group of ties.
  private NDArray rewards() {
    return manager.create(new float[] {1, 2, 6, 3, 3, 3});
  }

  @Test
  void grpoStandardisesEachRewardWithinItsGroup() {
    // Group 0: mean 3, sample std sqrt(((1−3)² + (2−3)² + (6−3)²) / 2) = sqrt(7). Group 1 ties: 0.
    double std = Math.sqrt((4 + 1 + 9) / 2.0);
    double eps = 1e-4;
    float[] expected = {(float) (-2 / (std + eps)), (float) (-1 / (std + eps)), (float) (3 / (std + eps)), 0, 0, 0};
    assertArrayEquals(expected, GroupAdvantages.grpo(rewards(), 3).toFloatArray(), 1e-6f);
    assertArrayEquals(expected, GroupAdvantages.grpo(rewards(), 3, true, eps).toFloatArray(), 1e-6f);
  }

  @Test
  void grpoWithoutStdScalingOnlySubtractsTheGroupMean() {
    assertArrayEquals(new float[] {-2, -1, 3, 0, 0, 0},
        GroupAdvantages.grpo(rewards(), 3, false, 1e-4).toFloatArray(), 1e-6f);
  }

  @Test
  void rlooSubtractsTheMeanOfTheOtherResponses() {
    float[] expected = {
        (float) (1 - (2 + 6) / 2.0), (float) (2 - (1 + 6) / 2.0), (float) (6 - (1 + 2) / 2.0), 0, 0, 0};
    assertArrayEquals(expected, GroupAdvantages.rloo(rewards(), 3).toFloatArray(), 1e-6f);
  }

  @Test
  void groupsMustTileTheBatch() {
    assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.grpo(rewards(), 4));
    assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.rloo(rewards(), 1));
    assertThrows(IllegalArgumentException.class, () -> GroupAdvantages.grpo(manager.zeros(new Shape(2, 3)), 3));
  }
}

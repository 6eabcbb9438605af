package dev.troupe.algorithms.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Best-of-n's figures without sampling: the closed-form KL and the exact mean over every n-subset. */
class BestOfNTest {

  @Test
  void klIsLogNMinusNMinusOneOverN() {
    assertEquals(0, BestOfN.kl(1), 0);
    assertEquals(Math.log(2) - 0.5, BestOfN.kl(2), 1e-15);
    assertEquals(4.1589 - 0.9844, BestOfN.kl(64), 1e-4); // log 64 = 4.1589, 63/64 = 0.9844
    assertThrows(IllegalArgumentException.class, () -> BestOfN.kl(0));
  }

  @Test
  void theExpectedPickOfThreeSamplesMatchesTheSubsetsCountedByHand() {
    double[] score = {0.2, 0.9, 0.5};
    double[] gold = {10, 30, 20};
    assertEquals(20, BestOfN.expectedPick(score, gold, 1), 1e-12);          // the plain mean
    assertEquals((30 + 20 + 30) / 3.0, BestOfN.expectedPick(score, gold, 2), 1e-12); // {0,1}, {0,2}, {1,2}
    assertEquals(30, BestOfN.expectedPick(score, gold, 3), 1e-12);          // the reward model's favourite
  }

  @Test
  void theExpectedPickEqualsTheMeanOverEveryNSubset() {
    SplittableRandom random = new SplittableRandom(7);
    int total = 9;
    double[] score = new double[total];
    double[] gold = new double[total];
    for (int i = 0; i < total; i++) {
      score[i] = random.nextDouble();
      gold[i] = random.nextDouble();
    }
    for (int n = 1; n <= total; n++) {
      double sum = 0;
      int subsets = 0;
      for (int mask = 0; mask < 1 << total; mask++) {
        if (Integer.bitCount(mask) != n) {
          continue;
        }
        int best = -1;
        for (int i = 0; i < total; i++) {
          if ((mask & 1 << i) != 0 && (best < 0 || score[i] > score[best])) {
            best = i;
          }
        }
        sum += gold[best];
        subsets++;
      }
      assertEquals(sum / subsets, BestOfN.expectedPick(score, gold, n), 1e-12, "n = " + n);
    }
  }
}

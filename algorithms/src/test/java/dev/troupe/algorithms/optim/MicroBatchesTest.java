package dev.troupe.algorithms.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The cut PPO uses for its minibatches and SFT, reward-model and DPO training for gradient accumulation. */
class MicroBatchesTest {

  private static List<Integer> rows(int n) {
    return IntStream.range(0, n).boxed().toList();
  }

  private static List<Integer> sizes(List<List<Integer>> parts) {
    return parts.stream().map(List::size).toList();
  }

  private static List<Integer> concatenated(List<List<Integer>> parts) {
    List<Integer> all = new ArrayList<>();
    parts.forEach(all::addAll);
    return all;
  }

  @Test
  void tenRowsInThreeAreFourThreeThreeAndUseEveryRowOnceInOrder() {
    List<List<Integer>> parts = MicroBatches.split(rows(10), 3);
    assertEquals(List.of(4, 3, 3), sizes(parts));
    assertEquals(rows(10), concatenated(parts));
  }

  @Test
  void partSizesDifferByAtMostOneAndTheLargerComeFirst() {
    assertEquals(List.of(3, 3, 2, 2), sizes(MicroBatches.split(rows(10), 4)));
    assertEquals(List.of(2, 2, 2, 2, 2), sizes(MicroBatches.split(rows(10), 5)));
    assertEquals(List.of(10), sizes(MicroBatches.split(rows(10), 1)));
    for (int n = 1; n <= 17; n++) {
      for (int count = 1; count <= 6; count++) {
        List<List<Integer>> parts = MicroBatches.split(rows(n), count);
        assertEquals(rows(n), concatenated(parts), n + " rows in " + count);
        assertEquals(Math.min(n, count), parts.size(), n + " rows in " + count);
        int largest = parts.get(0).size();
        int smallest = parts.get(parts.size() - 1).size();
        assertEquals(n / parts.size() + (n % parts.size() > 0 ? 1 : 0), largest, n + " rows in " + count);
        assertEquals(n / parts.size(), smallest, n + " rows in " + count);
      }
    }
  }

  @Test
  void fewerRowsThanPartsGiveOneRowEachAndZeroPartsIsAnError() {
    assertEquals(List.of(1, 1), sizes(MicroBatches.split(rows(2), 3)));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MicroBatches.split(rows(4), 0));
    assertEquals("gradient accumulation needs at least 1 micro-batch, got 0", e.getMessage());
  }

  @Test
  void sharesAreEachPartsFractionOfTheLossTermsOrEqualWhenThereAreNone() {
    assertArrayEquals(new double[] {0.5, 0.3, 0.2}, MicroBatches.shares(new double[] {5, 3, 2}), 1e-15);
    assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25}, MicroBatches.shares(new double[] {0, 0, 0, 0}), 1e-15);
  }
}

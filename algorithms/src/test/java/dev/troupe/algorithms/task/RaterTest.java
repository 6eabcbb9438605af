package dev.troupe.algorithms.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class RaterTest {
  private static final Logger LOG = LoggerFactory.getLogger(RaterTest.class);

  private final QuickstartTask task = new QuickstartTask(42);
  private final GoldScorer gold = new GoldScorer();

  @Test
  void perfectRaterPrefersTheHigherGoldScoreWhicheverComesFirst() {
    PerfectRater rater = new PerfectRater(1);
    TaskPrompt prompt = new TaskPrompt.Sort("dbac");
    for (Label label : List.of(rater.label(prompt, "a b c d", "a c b d"), rater.label(prompt, "a c b d", "a b c d"))) {
      assertEquals("a b c d", label.chosen());
      assertEquals("a c b d", label.rejected());
      assertEquals(1.0 / 3, label.strength(), 1e-12, "strength is the gold difference, 1 − 2/3");
      assertFalse(label.tie());
    }
  }

  @Test
  void tiesAreOrderedByASeededCoinAndReportedAsTies() {
    TaskPrompt prompt = new TaskPrompt.Count('a', "bacafa");
    PerfectRater rater = new PerfectRater(5);
    PerfectRater twin = new PerfectRater(5);
    int firstChosen = 0;
    for (int i = 0; i < 2000; i++) {
      Label label = rater.label(prompt, "2", "4"); // both off by one: 2/3 each
      assertTrue(label.tie());
      assertEquals(0.0, label.strength());
      assertEquals(label, twin.label(prompt, "2", "4"), "the same seed tosses the same coins");
      firstChosen += label.chosen().equals("2") ? 1 : 0;
    }
    assertEquals(1000, firstChosen, 90, "a fair coin: 1000 ± 4 sd");
  }

  @Test
  void noisyRaterFlipsTwoTenthsOfFiveThousandLabels() {
    List<TaskPrompt> prompts = task.trainPrompts(5000);
    SplittableRandom random = new SplittableRandom(3);
    NoisyRater noisy = new NoisyRater(0.2, 11);
    int flipped = 0;
    for (int i = 0; i < prompts.size(); i++) {
      TaskPrompt prompt = prompts.get(i);
      String ideal = task.idealResponse(prompt);
      String degraded = task.degradedResponse(prompt, random);
      // Alternate which comes first, so that a rater ignoring the responses would flip half.
      Label label = i % 2 == 0 ? noisy.label(prompt, ideal, degraded) : noisy.label(prompt, degraded, ideal);
      assertEquals(1 - gold.score(prompt, degraded), label.strength(), 1e-12, "a flip keeps its strength");
      flipped += label.chosen().equals(degraded) ? 1 : 0;
    }
    double fraction = flipped / 5000.0;
    LOG.info("NoisyRater(0.2) flipped {} of 5000 labels: {}", flipped, fraction);
    assertEquals(0.2, fraction, 0.02);
  }

  @Test
  void noisyRaterWithoutNoiseAgreesWithThePerfectRaterAndIsDeterministicBySeed() {
    SplittableRandom random = new SplittableRandom(4);
    List<TaskPrompt> prompts = task.trainPrompts(500);
    List<String[]> pairs = new ArrayList<>();
    for (TaskPrompt prompt : prompts) {
      pairs.add(new String[] {task.degradedResponse(prompt, random), task.degradedResponse(prompt, random)});
    }
    PerfectRater perfect = new PerfectRater(9);
    NoisyRater silent = new NoisyRater(0, 9);
    NoisyRater noisy = new NoisyRater(0.3, 9);
    NoisyRater noisyTwin = new NoisyRater(0.3, 9);
    int ties = 0;
    for (int i = 0; i < prompts.size(); i++) {
      TaskPrompt prompt = prompts.get(i);
      String[] pair = pairs.get(i);
      Label label = perfect.label(prompt, pair[0], pair[1]);
      assertEquals(label, silent.label(prompt, pair[0], pair[1]), "same seed, same tie coins, no flips");
      assertEquals(noisy.label(prompt, pair[0], pair[1]), noisyTwin.label(prompt, pair[0], pair[1]));
      ties += label.tie() ? 1 : 0;
    }
    // Two degraded responses to one prompt often score alike (count: both off by one), so ties are exercised.
    assertTrue(ties > 50, "ties " + ties);
  }
}

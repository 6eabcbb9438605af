package dev.troupe.actors.judge;

import static dev.troupe.actors.judge.JudgeFixtures.comparison;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.actors.config.JudgeSettings;
import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.protocol.Comparison;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SimulatedJudgeTest {
  private final QuickstartTask task = new QuickstartTask(7);

  /** Ideal against degraded responses, in random order, so the gold scorer always has a preference. */
  private List<Comparison> idealVersusDegraded(int n) {
    SplittableRandom random = new SplittableRandom(3);
    List<Comparison> comparisons = new ArrayList<>();
    List<TaskPrompt> prompts = task.trainPrompts(n);
    for (int i = 0; i < n; i++) {
      TaskPrompt prompt = prompts.get(i);
      String ideal = task.idealResponse(prompt);
      String degraded = task.degradedResponse(prompt, random);
      comparisons.add(random.nextBoolean()
          ? comparison("c" + i, task.promptText(prompt), "ideal", ideal, "degraded", degraded)
          : comparison("c" + i, task.promptText(prompt), "degraded", degraded, "ideal", ideal));
    }
    return comparisons;
  }

  @Test
  void agreesWithTheGoldScorerExceptOnItsErrorRateAndSaysItIsSimulated() throws Exception {
    List<Comparison> comparisons = idealVersusDegraded(2000);
    try (Judge judge = Judge.create(JudgeFixtures.settings("simulated", null, null, 0, 1), 11)) {
      List<Verdict> verdicts = judge.judge(comparisons);

      assertEquals("simulated-gold(error=0.10)", judge.id());
      int wrong = 0;
      for (int i = 0; i < comparisons.size(); i++) {
        Verdict v = verdicts.get(i);
        boolean firstChosen = v.chosenResponseId().equals(comparisons.get(i).getResponses(0).getId());
        assertEquals(firstChosen ? 0.9 : 0.1, v.probabilityFirstBetter(), 1e-12);
        assertEquals(0.9, v.confidence(), 1e-12, "the judge's known accuracy");
        wrong += v.chosenResponseId().equals("degraded") ? 1 : 0;
      }
      // 2000 draws at 0.1: standard deviation 0.0067, so 0.08-0.12 is three of them either side.
      assertTrue(wrong >= 160 && wrong <= 240, wrong + " of 2000 verdicts wrong");
    }
    try (Judge exact = Judge.create(
        new JudgeSettings("simulated", JudgeFixtures.RUBRIC, 0, null, null, null, Duration.ofSeconds(5), 0, 1), 11)) {
      assertTrue(exact.judge(comparisons).stream().allMatch(v -> v.chosenResponseId().equals("ideal")));
      assertEquals("simulated-gold(error=0.00)", exact.id());
    }
  }

  @Test
  void whichVerdictsFlipDependsOnSeedAndComparisonIdNotOnBatchOrThreads() throws Exception {
    List<Comparison> comparisons = idealVersusDegraded(400);
    SimulatedJudge judge = new SimulatedJudge(JudgeFixtures.RUBRIC, 0.25, 5);
    List<Verdict> inOrder = judge.judge(comparisons);

    List<Comparison> reversed = new ArrayList<>(comparisons);
    Collections.reverse(reversed);
    List<Verdict> backwards = judge.judge(reversed);
    Collections.reverse(backwards);
    assertSameVerdicts(inOrder, backwards, "judged in reverse order");

    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<List<Verdict>>> parts = new ArrayList<>();
      for (int part = 0; part < 4; part++) {
        List<Comparison> slice = comparisons.subList(part * 100, part * 100 + 100);
        parts.add(pool.submit(() -> judge.judge(slice)));
      }
      List<Verdict> threaded = new ArrayList<>();
      for (Future<List<Verdict>> part : parts) {
        threaded.addAll(part.get(30, TimeUnit.SECONDS));
      }
      assertSameVerdicts(inOrder, threaded, "judged on four threads");
    } finally {
      pool.shutdownNow();
    }

    List<Verdict> otherSeed = new SimulatedJudge(JudgeFixtures.RUBRIC, 0.25, 6).judge(comparisons);
    assertNotEquals(inOrder, otherSeed, "another seed flips other comparisons");
  }

  private static void assertSameVerdicts(List<Verdict> expected, List<Verdict> actual, String what) {
    assertEquals(expected.size(), actual.size(), what);
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i), actual.get(i), what + ": comparison c" + i);
    }
  }

  @Test
  void equalGoldScoresAreATieAndPromptsOutsideTheQuickstartAreRefused() {
    SimulatedJudge judge = new SimulatedJudge(JudgeFixtures.RUBRIC, 0.1, 1);
    TaskPrompt prompt = new TaskPrompt.Reverse("kfzq");
    // Both one swap away from "qzfk": the same gold score, whatever the seed flips.
    assertEquals(new GoldScorer().score(prompt, "zqfk"), new GoldScorer().score(prompt, "qzkf"));
    Verdict tie = judge.judge(List.of(comparison("t", task.promptText(prompt), "zqfk", "qzkf"))).get(0);

    assertNull(tie.chosenResponseId());
    assertEquals(0.5, tie.probabilityFirstBetter());
    assertEquals(0.5, tie.confidence());

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> judge.judge(List.of(comparison("q7", "What is the capital of France?\n", "Paris", "Lyon"))));
    assertTrue(e.getMessage().contains("comparison q7") && e.getMessage().contains("not a quickstart instruction"),
        e.getMessage());
  }
}

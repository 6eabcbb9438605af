package dev.troupe.actors.judge;

import static dev.troupe.actors.judge.JudgeFixtures.comparison;
import static dev.troupe.actors.judge.JudgeFixtures.swapped;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Comparison;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The local judge on tiny Llamas written as Hugging Face folders and loaded back through {@link Judge#create}. */
class LocalJudgeTest {
  private static final Logger LOG = LoggerFactory.getLogger(LocalJudgeTest.class);

  @TempDir Path dir;

  @Test
  void verdictOnSwappedResponsesIsExactlyTheMirror() throws Exception {
    Path folder = saveJudge(null);
    try (Judge judge = Judge.create(JudgeFixtures.settings("local", folder.toString(), null, 0, 1), 0)) {
      assertEquals("local:judge", judge.id());
      for (Comparison c : List.of(comparison("m1", "say hi", "hello there", "go away"),
          comparison("m2", "count to 3", "1 2 3", "one two three four"))) {
        Verdict forward = judge.judge(List.of(c)).get(0);
        Verdict backward = judge.judge(List.of(swapped(c))).get(0);

        assertEquals(1 - forward.probabilityFirstBetter(), backward.probabilityFirstBetter(), 0.0, c.getId());
        assertEquals(forward.chosenResponseId(), backward.chosenResponseId(), c.getId());
        assertEquals(forward.confidence(), backward.confidence(), 0.0, c.getId());
        assertNotEquals(0.5, forward.probabilityFirstBetter(), "a random model has some preference");
      }
      Verdict same = judge.judge(List.of(comparison("m3", "say hi", "hello", "hello"))).get(0);
      assertEquals(new Verdict(null, 0.5, 0.5), same, "identical responses are a tie");
    }
  }

  @Test
  void aModelTrainedToAlwaysAnswerAIsCancelledByTheOrderSwap() throws Exception {
    SplittableRandom random = new SplittableRandom(4);
    Path folder = saveJudge((model, tokenizer, root) -> {
      List<LocalJudge.Row> rows = new ArrayList<>();
      List<Long> targets = new ArrayList<>();
      for (int i = 0; i < 64; i++) {
        LocalJudge.Row row = LocalJudge.encode(tokenizer, JudgeFixtures.RUBRIC, word(random, 6), word(random, 8),
            word(random, 8));
        rows.add(row);
        targets.add(row.tokenA());
      }
      JudgeFixtures.trainVerdicts(model, rows, targets, 30, 3e-3, root);
    });
    try (LocalJudge judge = (LocalJudge) Judge.create(JudgeFixtures.settings("local", folder.toString(), null, 0, 1), 0);
        Tokenizer tokenizer = Tokenizer.load(folder)) {
      for (int i = 0; i < 4; i++) {
        Comparison c = comparison("p" + i, word(random, 6), word(random, 8), word(random, 8));
        String x = c.getResponses(0).getText();
        String y = c.getResponses(1).getText();
        double[] pA = judge.probabilityOfA(List.of(
            LocalJudge.encode(tokenizer, JudgeFixtures.RUBRIC, c.getPrompt().getText(), x, y),
            LocalJudge.encode(tokenizer, JudgeFixtures.RUBRIC, c.getPrompt().getText(), y, x)));
        Verdict verdict = judge.judge(List.of(c)).get(0);
        LOG.info("always-A judge: P(A) {} and {} in the two orders, verdict {}", pA[0], pA[1], verdict);

        assertTrue(pA[0] > 0.98 && pA[1] > 0.98, "the model answers A in both orders: " + pA[0] + ", " + pA[1]);
        assertEquals(0.5, verdict.probabilityFirstBetter(), 0.02, "position bias cancels: " + verdict);
        assertTrue(verdict.confidence() < 0.52, "no confidence in a positional answer: " + verdict);
      }
    }
  }

  @Test
  void aModelThatPrefersOneResponsesContentChoosesItInBothOrders() throws Exception {
    SplittableRandom random = new SplittableRandom(5);
    Path folder = saveJudge((model, tokenizer, root) -> {
      List<LocalJudge.Row> rows = new ArrayList<>();
      List<Long> targets = new ArrayList<>();
      for (int i = 0; i < 128; i++) {
        boolean goodFirst = random.nextBoolean();
        String good = "yes " + word(random, 4);
        String bad = "no " + word(random, 4);
        LocalJudge.Row row = LocalJudge.encode(tokenizer, JudgeFixtures.RUBRIC, word(random, 6),
            goodFirst ? good : bad, goodFirst ? bad : good);
        rows.add(row);
        targets.add(goodFirst ? row.tokenA() : row.tokenB());
      }
      JudgeFixtures.trainVerdicts(model, rows, targets, 100, 3e-3, root);
    });
    try (Judge judge = Judge.create(JudgeFixtures.settings("local", folder.toString(), null, 0, 1), 0)) {
      List<Comparison> comparisons = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        Comparison c = comparison("g" + i, word(random, 6), "good", "yes " + word(random, 4), "bad",
            "no " + word(random, 4));
        comparisons.add(c);
        comparisons.add(swapped(c));
      }

      List<Verdict> verdicts = judge.judge(comparisons);

      for (int i = 0; i < comparisons.size(); i++) {
        Verdict v = verdicts.get(i);
        LOG.info("content judge: {}", v);
        assertEquals("good", v.chosenResponseId(), comparisons.get(i) + " -> " + v);
        assertTrue(v.confidence() > 0.9, "a clear preference: " + v);
      }
    }
  }

  /** Trains a judge model in memory. */
  private interface Training {
    void train(CausalLm model, Tokenizer tokenizer, NDManager root) throws Exception;
  }

  /** A random tiny Llama, trained by {@code training} (none: left random), written with its tokenizer to judge/. */
  private Path saveJudge(Training training) throws Exception {
    Path folder = dir.resolve("judge");
    QuickstartTask.tokenizer(folder);
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(JudgeFixtures.tinyJudge(), 17, root);
        Tokenizer tokenizer = Tokenizer.load(folder)) {
      if (training != null) {
        training.train(model, tokenizer, root);
      }
      HfModel.save(model, folder);
    }
    return folder;
  }

  private static String word(SplittableRandom random, int length) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < length; i++) {
      out.append((char) ('a' + random.nextInt(26)));
    }
    return out.toString();
  }
}

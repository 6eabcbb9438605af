package dev.troupe.algorithms.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.algorithms.task.TaskPrompt.Count;
import dev.troupe.algorithms.task.TaskPrompt.Polite;
import dev.troupe.algorithms.task.TaskPrompt.Repeat;
import dev.troupe.algorithms.task.TaskPrompt.Reverse;
import dev.troupe.algorithms.task.TaskPrompt.Sort;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class GoldScorerTest {
  private static final double EPS = 1e-12;
  private final GoldScorer gold = new GoldScorer();

  private static final List<TaskPrompt> ONE_OF_EACH = List.of(
      new Sort("dbac"), new Count('a', "bacafa"), new Reverse("kfzq"), new Repeat("ok", 3),
      new Polite("kim", "wait"));

  @Test
  void sortGivesCreditForTheLettersTimesTheShareOfNeighboursInOrder() {
    Sort prompt = new Sort("dbac");
    assertEquals(1.0, gold.score(prompt, "a b c d"), EPS);
    assertEquals(1.0, gold.score(prompt, "  a b c d\n"), EPS, "surrounding white space is trimmed");
    assertEquals(2.0 / 3, gold.score(prompt, "a c b d"), EPS, "one swap: 2 of 3 neighbours in order");
    assertEquals(2.0 / 3, gold.score(prompt, "b a c d"), EPS);
    assertEquals(1.0 / 3, gold.score(prompt, "d b a c"), EPS, "echoing the prompt: only a < c");
    assertEquals(0.75, gold.score(prompt, "a b c"), EPS, "one letter missing: 3 of 4");
    assertEquals(0.8, gold.score(prompt, "a b c d e"), EPS, "one letter too many: 4 of 5 items");
    assertEquals(0.25, gold.score(prompt, "a"), EPS, "a single item is trivially in order");
    assertEquals(0.0, gold.score(prompt, "a a a a"), EPS, "repeats are neither letters in common nor ascending");
    assertEquals(0.0, gold.score(prompt, "abcd"), EPS, "the letters must be separate items");
    assertEquals(0.5, gold.score(new Sort("cba"), "b a c"), EPS, "three letters, one swap");
  }

  @Test
  void countGivesOneThirdLessPerUnitOfError() {
    Count prompt = new Count('a', "bacafa"); // three a's
    assertEquals(1.0, gold.score(prompt, "3"), EPS);
    assertEquals(1.0, gold.score(prompt, " 3\n"), EPS);
    assertEquals(1.0, gold.score(prompt, "03"), EPS);
    assertEquals(2.0 / 3, gold.score(prompt, "2"), EPS);
    assertEquals(2.0 / 3, gold.score(prompt, "4"), EPS);
    assertEquals(1.0 / 3, gold.score(prompt, "5"), EPS);
    assertEquals(0.0, gold.score(prompt, "6"), EPS);
    assertEquals(0.0, gold.score(prompt, "999"), EPS);
    assertEquals(0.0, gold.score(prompt, "three"), EPS, "only a bare number counts");
    assertEquals(0.0, gold.score(prompt, "3 a's"), EPS);
    assertEquals(0.0, gold.score(prompt, "-3"), EPS);
    assertEquals(0.0, gold.score(prompt, "99999999999999999999"), EPS, "too long to be a count, and no overflow");
    assertEquals(1.0, gold.score(new Count('e', "abcdf"), "0"), EPS, "zero occurrences");
  }

  @Test
  void reverseGivesCreditByEditDistanceToTheReversedWord() {
    Reverse prompt = new Reverse("kfzq");
    assertEquals(1.0, gold.score(prompt, "qzfk"), EPS);
    assertEquals(0.5, gold.score(prompt, "zqfk"), EPS, "two neighbours swapped: two edits of four");
    assertEquals(0.75, gold.score(prompt, "qzf"), EPS, "one letter dropped");
    assertEquals(0.8, gold.score(prompt, "qzfkk"), EPS, "one letter too many: one edit of five");
    assertEquals(0.6, gold.score(new Reverse("abcde"), "edcab"), EPS);
    assertEquals(0.0, gold.score(prompt, "xxxx"), EPS);
    assertEquals(0.0, gold.score(prompt, "kfzq"), EPS, "the word unreversed is four edits away");
  }

  @Test
  void repeatGivesCreditForCopiesUpToTheTimesAskedOverTheItemsGiven() {
    Repeat prompt = new Repeat("ok", 3);
    assertEquals(1.0, gold.score(prompt, "ok ok ok"), EPS);
    assertEquals(2.0 / 3, gold.score(prompt, "ok ok"), EPS, "one copy short");
    assertEquals(0.75, gold.score(prompt, "ok ok ok ok"), EPS, "one copy too many");
    assertEquals(2.0 / 3, gold.score(prompt, "ok ko ok"), EPS);
    assertEquals(0.5, gold.score(new Repeat("ok", 2), "ok"), EPS);
    assertEquals(0.0, gold.score(prompt, "okokok"), EPS, "copies must be separate items");
    assertEquals(0.0, gold.score(prompt, "no no no"), EPS);
  }

  @Test
  void politeGivesHalfForPleaseAndAQuarterEachForNameAndVerb() {
    Polite prompt = new Polite("kim", "wait");
    assertEquals(1.0, gold.score(prompt, "kim, please wait."), EPS);
    assertEquals(1.0, gold.score(prompt, "Please WAIT, Kim!"), EPS, "any case, any order");
    assertEquals(0.5, gold.score(prompt, "kim, wait."), EPS, "the degraded, impolite request");
    assertEquals(0.75, gold.score(prompt, "please wait."), EPS);
    assertEquals(0.5, gold.score(prompt, "please"), EPS);
    assertEquals(0.0, gold.score(prompt, "pleasewait"), EPS, "whole words only");
    String padded = "kim, please wait. please please"; // 31 bytes, over the 24 a response may use
    assertEquals(24.0 / 31, gold.score(prompt, padded), EPS);
    assertEquals(0.0, gold.score(prompt, "go away"), EPS);
  }

  @Test
  void emptyOrUnrelatedResponsesScoreZeroForEveryKind() {
    for (TaskPrompt prompt : ONE_OF_EACH) {
      for (String garbage : Arrays.asList(null, "", "   \n\t", "????", "\u0000\u0001", "\uFFFD\uFFFD", "#!%")) {
        assertEquals(0.0, gold.score(prompt, garbage), EPS, prompt + " / " + garbage);
      }
    }
  }

  @Test
  void randomBytesNeverThrowAndStayInTheUnitInterval() {
    Random random = new Random(7);
    for (int i = 0; i < 10_000; i++) {
      byte[] bytes = new byte[random.nextInt(40)];
      random.nextBytes(bytes);
      // Half raw bytes (invalid UTF-8 included), half printable ASCII, which hits the rubrics' paths more often.
      String response = i % 2 == 0 ? new String(bytes, StandardCharsets.UTF_8) : printable(bytes);
      for (TaskPrompt prompt : ONE_OF_EACH) {
        double score = gold.score(prompt, response);
        assertTrue(score >= 0 && score <= 1, prompt + " / " + response + ": " + score);
      }
    }
  }

  private static String printable(byte[] bytes) {
    StringBuilder out = new StringBuilder();
    for (byte b : bytes) {
      out.append("abcdkimwaitplease0123 ,.".charAt((b & 0xff) % 24));
    }
    return out.toString();
  }
}

package dev.troupe.algorithms.task;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.algorithms.task.QuickstartTask.SftExample;
import dev.troupe.algorithms.task.QuickstartTask.SftSet;
import dev.troupe.algorithms.task.TaskPrompt.Kind;
import dev.troupe.model.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class QuickstartTaskTest {
  private static final Logger LOG = LoggerFactory.getLogger(QuickstartTaskTest.class);

  private final QuickstartTask task = new QuickstartTask(42);
  private final GoldScorer gold = new GoldScorer();

  @Test
  void promptTextIsTheInstructionAndANewline() {
    assertEquals("sort: d b a c\n", task.promptText(new TaskPrompt.Sort("dbac")));
    assertEquals("count a: bacafa\n", task.promptText(new TaskPrompt.Count('a', "bacafa")));
    assertEquals("reverse: kfzq\n", task.promptText(new TaskPrompt.Reverse("kfzq")));
    assertEquals("repeat ok 3 times\n", task.promptText(new TaskPrompt.Repeat("ok", 3)));
    assertEquals("ask kim to wait\n", task.promptText(new TaskPrompt.Polite("kim", "wait")));
    assertEquals("a b c d", task.idealResponse(new TaskPrompt.Sort("dbac")));
    assertEquals("3", task.idealResponse(new TaskPrompt.Count('a', "bacafa")));
    assertEquals("qzfk", task.idealResponse(new TaskPrompt.Reverse("kfzq")));
    assertEquals("ok ok ok", task.idealResponse(new TaskPrompt.Repeat("ok", 3)));
    assertEquals("kim, please wait.", task.idealResponse(new TaskPrompt.Polite("kim", "wait")));
  }

  @Test
  void parsePromptInvertsPromptTextForEveryKind() {
    Map<Kind, Integer> parsed = new EnumMap<>(Kind.class);
    for (TaskPrompt prompt : Stream.concat(task.trainPrompts(500).stream(), task.heldOutPrompts(500).stream())
        .toList()) {
      assertEquals(prompt, QuickstartTask.parsePrompt(task.promptText(prompt)));
      assertEquals(prompt, QuickstartTask.parsePrompt(prompt.instruction()));
      parsed.merge(prompt.kind(), 1, Integer::sum);
    }
    assertEquals(Set.of(Kind.values()), parsed.keySet(), "every kind was drawn and parsed: " + parsed);
    // Near misses are refused, not parsed into a different prompt.
    for (String wrong : List.of("sort: dbac", "count ab: bacafa", "repeat ok 03 times", "ask kim to wait now",
        "reverse: kfzq\n\n", "Sort: d b a c", "")) {
      IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> QuickstartTask.parsePrompt(wrong), wrong);
      assertTrue(e.getMessage().startsWith("not a quickstart instruction: '"), e.getMessage());
    }
  }

  @Test
  void idealResponsesScoreOneAndEveryTextFitsTheStatedBounds() {
    int longestPrompt = 0;
    int longestResponse = 0;
    SplittableRandom random = new SplittableRandom(1);
    for (TaskPrompt prompt : Stream.concat(task.trainPrompts(2000).stream(), task.heldOutPrompts(2000).stream())
        .toList()) {
      String ideal = task.idealResponse(prompt);
      String degraded = task.degradedResponse(prompt, random);
      assertEquals(1.0, gold.score(prompt, ideal), 1e-12, prompt + " -> " + ideal);
      double partial = gold.score(prompt, degraded);
      assertTrue(partial >= 0.5 && partial < 1, prompt + " -> " + degraded + ": " + partial);
      longestPrompt = Math.max(longestPrompt, bytes(task.promptText(prompt)));
      longestResponse = Math.max(longestResponse, Math.max(bytes(ideal), bytes(degraded)));
    }
    LOG.info("longest prompt text {} bytes, longest response {} bytes", longestPrompt, longestResponse);
    assertTrue(longestPrompt <= QuickstartTask.MAX_PROMPT_BYTES, "prompt of " + longestPrompt + " bytes");
    assertTrue(longestResponse <= QuickstartTask.MAX_RESPONSE_BYTES, "response of " + longestResponse + " bytes");
  }

  @Test
  void heldOutPromptsNeverAppearAmongTrainOrSftPrompts() {
    List<TaskPrompt> train = task.trainPrompts(2000);
    List<TaskPrompt> heldOut = task.heldOutPrompts(2000);
    Set<String> seen = train.stream().map(TaskPrompt::instruction).collect(Collectors.toCollection(HashSet::new));
    task.sftSet(2000, 0.4).examples().forEach(e -> seen.add(e.prompt().instruction()));
    // Another seed's train prompts too: the split does not depend on the seed.
    new QuickstartTask(7).trainPrompts(2000).forEach(p -> seen.add(p.instruction()));
    for (TaskPrompt prompt : heldOut) {
      assertFalse(seen.contains(prompt.instruction()), prompt.instruction());
      assertTrue(QuickstartTask.isHeldOut(prompt));
    }
    assertTrue(train.stream().noneMatch(QuickstartTask::isHeldOut));
    // Disjoint, yet alike: every kind about a fifth of each split, and few repeats.
    for (List<TaskPrompt> split : List.of(train, heldOut)) {
      Map<Kind, Long> kinds = split.stream().collect(Collectors.groupingBy(TaskPrompt::kind, Collectors.counting()));
      for (Kind kind : Kind.values()) {
        assertEquals(400, kinds.getOrDefault(kind, 0L), 60, kind + " in " + kinds);
      }
    }
    Map<Kind, Long> distinct = heldOut.stream().distinct()
        .collect(Collectors.groupingBy(TaskPrompt::kind, Collectors.counting()));
    LOG.info("distinct held-out prompts of 2000 by kind: {}", distinct);
    // Repeats come from the small cases (three-letter sorts, two-letter words, four a's in five letters):
    // measured 1880 distinct of 2000 for seed 42.
    assertTrue(distinct.values().stream().mapToLong(Long::longValue).sum() > 1800, distinct.toString());
    // A held-out sort prompt's answer is never a train answer: the split keys sort on its set of letters.
    Set<String> trainAnswers = train.stream().filter(p -> p.kind() == Kind.SORT).map(task::idealResponse)
        .collect(Collectors.toSet());
    assertTrue(heldOut.stream().filter(p -> p.kind() == Kind.SORT).map(task::idealResponse)
        .noneMatch(trainAnswers::contains));
  }

  @Test
  void sftSetWithErrorRateFourTenthsHasTheDesignedMeanGoldScore() {
    SftSet set = task.sftSet(2000, 0.4);
    List<SftExample> degraded = set.examples().stream().filter(SftExample::degraded).toList();
    assertEquals(800, degraded.size(), "exactly the fraction asked");
    assertEquals(0.4, set.errorRate());
    Map<Kind, double[]> byKind = new EnumMap<>(Kind.class);
    for (SftExample example : set.examples()) {
      double score = gold.score(example.prompt(), example.response());
      assertEquals(example.degraded(), score < 1, example.toString());
      if (example.degraded()) {
        byKind.computeIfAbsent(example.prompt().kind(), k -> new double[2])[0] += score;
        byKind.get(example.prompt().kind())[1]++;
      }
    }
    byKind.forEach((kind, sum) -> LOG.info("degraded {}: mean gold {}", kind, sum[0] / sum[1]));
    LOG.info("SFT set of 2000 at error rate 0.4: mean gold {}", set.meanGoldScore());
    // Designed: 0.6 ideal at 1, plus 0.4 degraded at a mean over the five kinds of (sort 0.639, count 0.667,
    // reverse 0.589, repeat 0.689, polite 0.5) = 0.617, so 0.6 + 0.4 · 0.617 = 0.847.
    // Measured for seed 42: 0.8454.
    assertEquals(0.847, set.meanGoldScore(), 0.01);
    assertEquals(set.meanGoldScore(), gold.mean(set.examples().stream().map(SftExample::prompt).toList(),
        set.examples().stream().map(SftExample::response).toList()), 1e-12);
    assertEquals(1.0, task.sftSet(500, 0).meanGoldScore(), 1e-12, "no errors asked, none made");
  }

  @Test
  void theSameSeedGivesTheSameTaskAndAnotherSeedADifferentOne() {
    QuickstartTask again = new QuickstartTask(42);
    assertEquals(task.trainPrompts(300), again.trainPrompts(300));
    assertEquals(task.heldOutPrompts(300), again.heldOutPrompts(300));
    assertEquals(task.sftSet(300, 0.4), again.sftSet(300, 0.4));
    assertEquals(task.trainPrompts(300).subList(0, 100), task.trainPrompts(100), "a longer list extends a shorter");
    assertNotEquals(task.trainPrompts(100), new QuickstartTask(43).trainPrompts(100));
    assertNotEquals(task.sftSet(100, 0.4), new QuickstartTask(43).sftSet(100, 0.4));
  }

  @Test
  void theTokenizerSpendsOneTokenPerByteAndNamesItsSpecialTokens(@TempDir Path dir) throws Exception {
    Path file = QuickstartTask.tokenizer(dir.resolve("quickstart"));
    try (Tokenizer tokenizer = Tokenizer.load(file)) {
      assertEquals(259, tokenizer.vocabSize());
      assertEquals(256, tokenizer.bosId().orElseThrow());
      assertEquals(257, tokenizer.eosId().orElseThrow());
      assertEquals(258, tokenizer.padId().orElseThrow());
      TaskPrompt prompt = new TaskPrompt.Polite("kim", "wait");
      String text = task.promptText(prompt) + task.idealResponse(prompt);
      long[] ids = tokenizer.encode(text);
      byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
      long[] expected = new long[utf8.length];
      for (int i = 0; i < utf8.length; i++) {
        expected[i] = utf8[i] & 0xff;
      }
      assertArrayEquals(expected, ids);
      assertEquals(text, tokenizer.decode(ids));
    }
  }

  private static int bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8).length;
  }
}

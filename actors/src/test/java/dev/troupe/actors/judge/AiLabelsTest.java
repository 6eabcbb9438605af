package dev.troupe.actors.judge;

import static dev.troupe.actors.judge.JudgeFixtures.comparison;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import org.junit.jupiter.api.Test;

class AiLabelsTest {
  private final Comparison comparison = comparison("rlaif/7", "sort: c a b\n", "a b c", "b a c");

  @Test
  void labelNamesTheJudgeTheRubricsHashTheConfidenceAndHasAnIdThatRejudgingKeeps() {
    Judge judge = new SimulatedJudge(JudgeFixtures.RUBRIC, 0.1, 1);
    Verdict verdict = new Verdict("a", 0.9, 0.9);

    Label label = AiLabels.label(comparison, verdict, judge, 1_700_000_000_000L);

    assertEquals("rlaif/7", label.getComparisonId());
    assertEquals("a", label.getChosenResponseId());
    assertEquals(false, label.getTie());
    assertEquals(FeedbackSource.FEEDBACK_SOURCE_AI, label.getSource());
    assertEquals("simulated-gold(error=0.10)", label.getRaterId());
    // sha-256 of "Pick the better response.", as `printf %s 'Pick the better response.' | sha256sum` gives it.
    assertEquals("d6145fd5b4a38e85bc1c84c345278e85617afd2e490a04eef071847041282d31", label.getRubricSha256());
    assertEquals(0.9, label.getConfidence());
    assertEquals(1_700_000_000_000L, label.getCreatedMs());

    Label again = AiLabels.label(comparison, verdict, judge, 1_800_000_000_000L);
    assertEquals(label.getId(), again.getId(), "re-judging after a crash stores the same label");
    Judge other = new SimulatedJudge(JudgeFixtures.RUBRIC, 0.2, 1);
    assertNotEquals(label.getId(), AiLabels.label(comparison, verdict, other, 0).getId(), "another judge");
    Comparison next = comparison.toBuilder().setId("rlaif/8").build();
    assertNotEquals(label.getId(), AiLabels.label(next, verdict, judge, 0).getId(), "another comparison");
  }

  @Test
  void aTieIsStoredAsATieAndAChoiceOutsideTheComparisonIsRefused() {
    Judge judge = new SimulatedJudge(JudgeFixtures.RUBRIC, 0.1, 1);

    Label tie = AiLabels.label(comparison, Verdict.fromProbability(comparison, 0.5), judge, 0);

    assertTrue(tie.getTie());
    assertEquals("", tie.getChosenResponseId());
    assertEquals(0.5, tie.getConfidence());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> AiLabels.label(comparison, new Verdict("z", 0.2, 0.8), judge, 0));
    assertTrue(e.getMessage().contains("'z'") && e.getMessage().contains("rlaif/7"), e.getMessage());
  }
}

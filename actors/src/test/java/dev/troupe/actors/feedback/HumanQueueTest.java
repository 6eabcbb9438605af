package dev.troupe.actors.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.actors.config.FeedbackQueueSettings;
import dev.troupe.actors.config.FeedbackQueueSettings.Selection;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.HumanTask;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.LabelReceipt;
import dev.troupe.protocol.LabelSubmission;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.RefusalKind;
import dev.troupe.protocol.Response;
import dev.troupe.protocol.Score;
import dev.troupe.protocol.ScoreBatch;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The raters' queue over a real store: active selection, aliases, answers checked per field, rewrites as pairs. */
class HumanQueueTest {
  @TempDir Path dir;
  private CampaignStore store;

  @BeforeEach
  void open() {
    store = CampaignStore.open(CampaignStore.defaultUrl(dir), null, null);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private HumanQueue queue(Selection selection) {
    return new HumanQueue(store, new FeedbackQueueSettings(selection, 1, 0.0, 0, Duration.ofMinutes(5), 100, "be kind"),
        Map.of("rlaif", 1), text -> new long[] {40 + text.length(), 2}, 7);
  }

  private static Comparison comparison(String id, String first, String second) {
    return Comparison.newBuilder().setId(id).setPrompt(Prompt.newBuilder().setId("p-" + id).setText("prompt " + id)
            .addTokenIds(1).addTokenIds(9))
        .addResponses(Response.newBuilder().setId(id + "/r0").setText(first).addTokenIds(11).setAdapter("rlaif").setAdapterVersion(2))
        .addResponses(Response.newBuilder().setId(id + "/r1").setText(second).addTokenIds(12).setAdapter("rlaif").setAdapterVersion(2))
        .build();
  }

  @Test
  void priorityRanksDisagreementFirstThenUncertainty() {
    // The judge prefers the first response; the reward model scores it 2 below the second: they disagree.
    double disagree = HumanQueue.priority(Selection.DISAGREEMENT, -2.0, null, true, "t", 1);
    double agree = HumanQueue.priority(Selection.DISAGREEMENT, 2.0, null, true, "t", 1);
    assertEquals(1 - 1 / (1 + Math.exp(2.0)), disagree, 1e-12);
    assertEquals(1 - 1 / (1 + Math.exp(-2.0)), agree, 1e-12);
    assertTrue(disagree > 0.5 && agree < 0.5);
    assertTrue(HumanQueue.priority(Selection.DISAGREEMENT, 0.0, null, null, "t", 1) <= 0.5, "no verdict: below any disagreement");
    assertEquals(1.0, HumanQueue.priority(Selection.UNCERTAINTY, 0.0, null, null, "t", 1), 1e-12, "a tie to the model");
    assertTrue(HumanQueue.priority(Selection.UNCERTAINTY, 0.1, null, null, "t", 1)
        > HumanQueue.priority(Selection.UNCERTAINTY, 3.0, null, null, "t", 1));
    assertEquals(0.5, HumanQueue.priority(Selection.UNCERTAINTY, 3.0, 1.0, null, "t", 1), 1e-12, "ensemble spread s/(1+s)");
    double r1 = HumanQueue.priority(Selection.RANDOM, 5.0, null, true, "t1", 1);
    assertEquals(r1, HumanQueue.priority(Selection.RANDOM, -5.0, null, false, "t1", 1), "random ignores the scores");
    assertNotEquals(r1, HumanQueue.priority(Selection.RANDOM, 5.0, null, true, "t2", 1));
  }

  @Test
  void judgedComparisonsAreServedMostDisputedFirstUnderAliasesThatHideIds() {
    Comparison calm = comparison("calm", "fine", "also fine");
    Comparison disputed = comparison("disputed", "the judge's pick", "the model's pick");
    store.putLabelled(List.of(calm, disputed), List.of(
        Label.newBuilder().setId("ai-calm").setComparisonId("calm").setChosenResponseId("calm/r0")
            .setSource(FeedbackSource.FEEDBACK_SOURCE_AI).setRaterId("judge").build(),
        Label.newBuilder().setId("ai-disputed").setComparisonId("disputed").setChosenResponseId("disputed/r0")
            .setSource(FeedbackSource.FEEDBACK_SOURCE_AI).setRaterId("judge").build()));
    ScoreBatch scores = ScoreBatch.newBuilder()
        .addScores(Score.newBuilder().setRolloutId("calm#0").setValue(1.5)).addScores(Score.newBuilder().setRolloutId("calm#1").setValue(-1))
        .addScores(Score.newBuilder().setRolloutId("disputed#0").setValue(-1)).addScores(Score.newBuilder().setRolloutId("disputed#1").setValue(2))
        .build();
    HumanQueue queue = queue(Selection.DISAGREEMENT);
    assertEquals(2, queue.enqueueJudged("rlaif", List.of(calm, disputed), scores));
    HumanTask first = queue.next("ana", 1_000).orElseThrow();
    assertEquals("disputed", store.tasks().task(first.getId()).orElseThrow().comparisonId());
    assertEquals("be kind", first.getGuidelines());
    assertEquals(Set.of("a", "b"), Set.of(first.getComparison().getResponses(0).getId(), first.getComparison().getResponses(1).getId()));
    assertEquals(0, first.getComparison().getResponses(0).getTokenIdsCount(), "only the text goes to the rater");
    assertEquals(-3.0, store.tasks().task(first.getId()).orElseThrow().rewardMargin(), 1e-12);
    assertEquals("disputed/r0", store.tasks().task(first.getId()).orElseThrow().aiChoice());
  }

  @Test
  void answersAreCheckedAgainstTheTaskNamingTheField() {
    Comparison c = comparison("c", "one", "two");
    store.putComparison(c);
    HumanQueue queue = queue(Selection.RANDOM);
    queue.enqueueJudged("rlaif", List.of(c), null);
    HumanTask task = queue.next("ana", 1_000).orElseThrow();
    assertEquals(RefusalKind.REFUSAL_KIND_INVALID, submit(queue, task.getId(), Label.newBuilder().setChosenResponseId("z")).getRefusal());
    assertTrue(submit(queue, task.getId(), Label.newBuilder().setChosenResponseId("z")).getError().startsWith("choice:"));
    assertTrue(submit(queue, task.getId(), Label.newBuilder().setChosenResponseId("a").addFlags("rude")).getError().startsWith("flags:"));
    assertEquals(RefusalKind.REFUSAL_KIND_NOT_FOUND, submit(queue, "t-none", Label.newBuilder().setTie(true)).getRefusal());
    LabelReceipt ok = submit(queue, task.getId(), Label.newBuilder().setChosenResponseId("b"));
    assertTrue(ok.getCreated(), ok.getError());
    Label stored = store.label(ok.getLabelId()).orElseThrow();
    String seenSecond = task.getComparison().getResponses(1).getText();
    assertEquals(seenSecond, c.getResponsesList().stream().filter(r -> r.getId().equals(stored.getChosenResponseId()))
        .findFirst().orElseThrow().getText(), "alias b maps back to the response shown second");
    assertEquals(RefusalKind.REFUSAL_KIND_NOT_FOUND, queue.undo("ben", ok.getLabelId()).getRefusal(), "not ben's");
    assertTrue(queue.undo("ana", ok.getLabelId()).getOk());
  }

  @Test
  void aRewriteIsChosenOverBothOriginalsAndUndoneWithItsLabel() {
    Comparison c = comparison("rw", "meh", "worse");
    store.putComparison(c);
    HumanQueue queue = queue(Selection.RANDOM);
    queue.enqueueJudged("rlaif", List.of(c), null);
    HumanTask task = queue.next("ana", 1_000).orElseThrow();
    LabelReceipt receipt = queue.submit(LabelSubmission.newBuilder().setTaskId(task.getId())
        .setLabel(Label.newBuilder().setRaterId("ana").setClientId("c1").setBothBad(true))
        .setRewriteOf("a").setRewriteText("much better").build(), 2_000);
    assertTrue(receipt.getCreated(), receipt.getError());
    Label rewrite = store.label(CampaignStore.rewriteLabelId(receipt.getLabelId())).orElseThrow();
    Comparison extended = store.comparison(rewrite.getComparisonId()).orElseThrow();
    assertEquals(3, extended.getResponsesCount());
    assertEquals("much better", extended.getResponses(0).getText());
    assertEquals(List.of(40L + "much better".length(), 2L), extended.getResponses(0).getTokenIdsList());
    PreferencePair pair = store.unconsumedPairs("dpo", Set.of(FeedbackSource.FEEDBACK_SOURCE_HUMAN), 10).get(0);
    assertEquals(rewrite.getId(), pair.getId(), "both bad gives no pair; the rewrite does");
    List<PreferencePairs.Tokens> rows = PreferencePairs.tokens(pair);
    assertEquals(2, rows.size(), "the rewrite over each original");
    assertEquals(List.of(11L, 12L), rows.stream().map(t -> t.rejected()[0]).sorted().toList());
    assertTrue(queue.undo("ana", receipt.getLabelId()).getOk());
    assertFalse(store.label(rewrite.getId()).isPresent(), "the rewrite goes with its label");
  }

  private static LabelReceipt submit(HumanQueue queue, String taskId, Label.Builder label) {
    return queue.submit(LabelSubmission.newBuilder().setTaskId(taskId).setLabel(label.setRaterId("ana")
        .setClientId("c-" + System.nanoTime())).build(), 2_000);
  }
}

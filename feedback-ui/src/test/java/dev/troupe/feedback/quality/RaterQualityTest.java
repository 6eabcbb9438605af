package dev.troupe.feedback.quality;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.troupe.actors.store.TaskQueue;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.Response;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Agreement figures against hand-computed values, and the flags they raise. */
class RaterQualityTest {

  @Test
  void cohensKappaAndKrippendorffsAlphaMatchHandComputedValues() {
    Map<String, String> ana = answers("a", "a", "b", "b", "a");
    Map<String, String> ben = answers("a", "b", "b", "b", "a");
    // p_o = 4/5; p_e = 3/5 * 2/5 + 2/5 * 3/5 = 0.48; kappa = (0.8 - 0.48) / 0.52.
    assertEquals((0.8 - 0.48) / 0.52, Agreement.cohensKappa(ana, ben), 1e-12);
    assertEquals(1.0, Agreement.cohensKappa(ana, ana), 1e-12);
    assertNull(Agreement.cohensKappa(answers("a", "a"), answers("a", "a")), "no variation: kappa undefined");
    Map<String, List<String>> units = new LinkedHashMap<>();
    ana.forEach((unit, v) -> units.put(unit, new ArrayList<>(List.of(v, ben.get(unit)))));
    // Coincidences: o_aa = 4, o_bb = 4, o_ab = o_ba = 1; n_a = n_b = 5, n = 10: alpha = 1 - 9 * 2 / 50.
    assertEquals(1 - 9.0 * 2 / 50, Agreement.krippendorffAlpha(units), 1e-12);
    units.put("single", new ArrayList<>(List.of("a")));
    assertEquals(1 - 9.0 * 2 / 50, Agreement.krippendorffAlpha(units), 1e-12, "a unit with one answer is not pairable");
  }

  @Test
  void goldAccuracyModelAgreementSpeedAndFlags() {
    List<TaskQueue.Answer> answers = new ArrayList<>();
    // Four gold items: cy gets them all wrong (below chance); ana and ben all right.
    for (int i = 0; i < 4; i++) {
      for (String rater : List.of("ana", "ben", "cy")) {
        answers.add(answer("gold-" + i, rater, rater.equals("cy") ? "y" : "x", "x", null, null, 20_000));
      }
    }
    // Six plain tasks: the reward model prefers x (margin > 0), the judge y; ana always picks x, cy rushes.
    for (int i = 0; i < 6; i++) {
      answers.add(answer("t-" + i, "ana", "x", null, 1.0, "y", 20_000));
      answers.add(answer("t-" + i, "ben", i < 3 ? "x" : "y", null, 1.0, "y", 30_000));
      answers.add(answer("t-" + i, "cy", "y", null, 1.0, "y", 1_000));
    }
    RaterQuality.Report report = RaterQuality.of(answers);
    Map<String, RaterQuality.Rater> byName = new LinkedHashMap<>();
    report.raters().forEach(r -> byName.put(r.rater(), r));
    assertEquals(1.0, byName.get("ana").goldAccuracy());
    assertEquals(0.0, byName.get("cy").goldAccuracy());
    assertEquals(1.0, byName.get("ana").rewardModelAgreement());
    assertEquals(0.0, byName.get("ana").aiJudgeAgreement());
    assertEquals(0.5, byName.get("ben").rewardModelAgreement());
    assertEquals(20.0, byName.get("ana").medianSeconds());
    assertEquals(List.of(), byName.get("ana").flags());
    assertEquals(List.of("below_chance_on_gold", "far_faster_than_the_rest"), byName.get("cy").flags());
    assertEquals(3, report.kappas().size(), "one per pair of raters");
    RaterQuality.PairKappa anaBen = report.kappas().get(0);
    assertEquals("ana", anaBen.first());
    assertEquals(6, anaBen.shared(), "gold items are not counted as agreement units");
  }

  private static Map<String, String> answers(String... values) {
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < values.length; i++) {
      out.put("u" + i, values[i]);
    }
    return out;
  }

  private static TaskQueue.Answer answer(String task, String rater, String chosen, String gold, Double margin, String ai,
      long millis) {
    Comparison c = Comparison.newBuilder().setId("c-" + task).addResponses(Response.newBuilder().setId("x"))
        .addResponses(Response.newBuilder().setId("y")).build();
    TaskQueue.Task t = new TaskQueue.Task(task, c.getId(), TaskQueue.Kind.PAIRWISE, null, null, null, 0, 3, gold, margin, ai, 0,
        null);
    Label label = Label.newBuilder().setId(task + "/" + rater).setRaterId(rater).setChosenResponseId(chosen)
        .setCreatedMs(100_000 + millis).build();
    return new TaskQueue.Answer(t, c, rater, 100_000, label);
  }
}

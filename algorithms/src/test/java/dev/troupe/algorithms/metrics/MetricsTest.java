package dev.troupe.algorithms.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class MetricsTest {

  @Test
  void keepsInsertionOrderAndReplacesAValueInPlace() {
    Metrics m = new Metrics().put("loss", 2.0).put("objective/kl", 0.5).put("loss", 1.5);
    assertEquals(List.of("loss", "objective/kl"), List.copyOf(m.asMap().keySet()));
    assertEquals(1.5, m.get("loss"));
    assertEquals(0.5, m.get("objective/kl"));
  }

  @Test
  void getOfAMissingNameListsTheNamesPresent() {
    Metrics m = new Metrics().put("rewards/chosen", 1.0);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.get("rewards/rejected"));
    assertTrue(e.getMessage().contains("rewards/rejected"), e.getMessage());
    assertTrue(e.getMessage().contains("rewards/chosen"), e.getMessage());
  }

  @Test
  void prefixedRenamesEveryMetricAndLeavesTheOriginal() {
    Metrics m = new Metrics().put("rewards/margins", 0.25).put("loss", 0.6);
    Metrics eval = m.prefixed("eval_");
    assertEquals(List.of("eval_rewards/margins", "eval_loss"), List.copyOf(eval.asMap().keySet()));
    assertEquals(0.6, eval.get("eval_loss"));
    assertEquals(List.of("rewards/margins", "loss"), List.copyOf(m.asMap().keySet()));
  }

  @Test
  void mergeAddsNewNamesAndOverwritesSharedOnes() {
    Metrics m = new Metrics().put("a", 1).put("b", 2).merge(new Metrics().put("b", 20).put("c", 30));
    assertEquals(List.of("a", "b", "c"), List.copyOf(m.asMap().keySet()));
    assertEquals(20.0, m.get("b"));
    assertEquals(30.0, m.get("c"));
  }

  @Test
  void meanAveragesEachNameOverTheMetricsThatHaveIt() {
    Metrics mean = Metrics.mean(List.of(
        new Metrics().put("loss/policy", 1.0).put("policy/clipfrac", 0.2),
        new Metrics().put("loss/policy", 3.0),
        new Metrics().put("loss/policy", 5.0).put("policy/clipfrac", 0.4)));
    assertEquals(3.0, mean.get("loss/policy"), 1e-12);
    assertEquals(0.3, mean.get("policy/clipfrac"), 1e-12);
    assertEquals(2, mean.size());
  }

  @Test
  void equalsComparesNamesValuesAndOrder() {
    record Report(long step, Metrics metrics) {}
    assertEquals(new Report(3, new Metrics().put("a", 1).put("b", 2)),
        new Report(3, new Metrics().put("a", 1).put("b", 2)));
    assertEquals(new Metrics().put("a", 1).hashCode(), new Metrics().put("a", 1).hashCode());
    assertNotEquals(new Metrics().put("a", 1).put("b", 2), new Metrics().put("b", 2).put("a", 1));
    assertNotEquals(new Metrics().put("a", 1), new Metrics().put("a", 1.5));
  }

  @Test
  void copyIsIndependentOfTheOriginal() {
    Metrics m = new Metrics().put("a", 1);
    Metrics copy = m.copy().put("a", 2);
    assertEquals(1.0, m.get("a"));
    assertEquals(2.0, copy.get("a"));
  }
}

package dev.troupe.actors.store;

import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.MetricsReport;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Response;
import dev.troupe.protocol.Strength;

/** Comparisons, labels and reports for the store's tests. */
final class StoreFixtures {
  static final String RATER = "rater-ana";

  private StoreFixtures() {}

  /** A two-response comparison ("a" and "b") whose content depends on its id. */
  static Comparison comparison(String id) {
    return Comparison.newBuilder()
        .setId(id)
        .setPrompt(Prompt.newBuilder().setId("prompt-" + id).addTokenIds(1).addTokenIds(17).setText("sort " + id))
        .addResponses(Response.newBuilder().setId("a").addTokenIds(5).addTokenIds(6).setText("yes " + id)
            .setAdapter("rlhf").setAdapterVersion(3))
        .addResponses(Response.newBuilder().setId("b").addTokenIds(7).setText("no " + id)
            .setAdapter("rlhf").setAdapterVersion(3))
        .build();
  }

  /** A human label of {@code comparisonId} choosing response "a". */
  static Label.Builder chosen(String id, String comparisonId) {
    return Label.newBuilder()
        .setId(id)
        .setComparisonId(comparisonId)
        .setChosenResponseId("a")
        .setStrength(Strength.STRENGTH_BETTER)
        .setSource(FeedbackSource.FEEDBACK_SOURCE_HUMAN)
        .setRaterId(RATER)
        .setConfidence(0.75)
        .addFlags("needless_refusal");
  }

  static Label.Builder tie(String id, String comparisonId) {
    return chosen(id, comparisonId).clearChosenResponseId().setTie(true);
  }

  static Label.Builder bothBad(String id, String comparisonId) {
    return chosen(id, comparisonId).clearChosenResponseId().setBothBad(true);
  }

  static MetricsReport metrics(String loop, long step, double kl) {
    return MetricsReport.newBuilder().setLoop(loop).setStep(step).putValues("objective/kl", kl)
        .putValues("rewards/margins", 0.5 + step).setTimeMs(1_700_000_000_000L + step).build();
  }

  /** A checkpoint record whose manifest hash is derived from loop and step. */
  static CampaignStore.CheckpointRecord checkpoint(String loop, long step) {
    String hex = String.format("%064x", (long) (loop.hashCode() & 0x7fffffff) * 1000 + step);
    return new CampaignStore.CheckpointRecord(loop, step, "checkpoints/" + loop + "/step-" + step, hex, 1_700_000_000_000L + step);
  }
}

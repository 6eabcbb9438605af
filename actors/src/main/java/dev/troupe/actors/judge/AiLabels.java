package dev.troupe.actors.judge;

import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.UUID;

/** Turns a judge's verdict into the label the store keeps: who judged, by which rubric, how sure. */
public final class AiLabels {
  private AiLabels() {}

  /**
   * The label of {@code verdict} on {@code comparison}: source AI, the judge's id as rater, the rubric's hash,
   * the confidence, and an id derived from the comparison's id and the judge's, so that judging a comparison
   * again after a crash gives the same label id (and the store keeps one label).
   */
  public static Label label(Comparison comparison, Verdict verdict, Judge judge, long nowMs) {
    Comparisons.requirePair(comparison);
    String chosen = verdict.chosenResponseId();
    if (chosen != null && !chosen.equals(comparison.getResponses(0).getId())
        && !chosen.equals(comparison.getResponses(1).getId())) {
      throw new IllegalArgumentException("verdict chooses response '" + chosen + "', which comparison "
          + comparison.getId() + " does not hold");
    }
    return Label.newBuilder()
        .setId(labelId(comparison.getId(), judge.id()))
        .setComparisonId(comparison.getId())
        .setChosenResponseId(chosen == null ? "" : chosen)
        .setTie(chosen == null)
        .setSource(FeedbackSource.FEEDBACK_SOURCE_AI)
        .setRaterId(judge.id())
        .setConfidence(verdict.confidence())
        .setRubricSha256(judge.rubricSha256())
        .setRationale(String.format(Locale.ROOT, "P(%s better than %s) = %.4f", comparison.getResponses(0).getId(),
            comparison.getResponses(1).getId(), verdict.probabilityFirstBetter()))
        .setCreatedMs(nowMs)
        .build();
  }

  /** A name-based UUID of (comparison id, judge id): the same pair always gives the same id. */
  static String labelId(String comparisonId, String judgeId) {
    return "ai-" + UUID.nameUUIDFromBytes((comparisonId + "\u0000" + judgeId).getBytes(StandardCharsets.UTF_8));
  }
}

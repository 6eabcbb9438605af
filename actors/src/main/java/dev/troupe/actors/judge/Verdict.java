package dev.troupe.actors.judge;

import dev.troupe.protocol.Comparison;

/**
 * A judge's answer on one comparison of two responses.
 *
 * @param chosenResponseId the better response's id, or null for a tie
 * @param probabilityFirstBetter the judge's probability that the comparison's first response is the better one
 * @param confidence the judge's confidence in its choice, in [0.5, 1] (0.5: no idea)
 */
public record Verdict(String chosenResponseId, double probabilityFirstBetter, double confidence) {

  public Verdict {
    if (!(probabilityFirstBetter >= 0 && probabilityFirstBetter <= 1)) {
      throw new IllegalArgumentException("probabilityFirstBetter must be in [0, 1], got " + probabilityFirstBetter);
    }
    if (!(confidence >= 0 && confidence <= 1)) {
      throw new IllegalArgumentException("confidence must be in [0, 1], got " + confidence);
    }
  }

  /**
   * The verdict of a judge whose only output is a probability: the first response above 0.5, the second below,
   * a tie at exactly 0.5; the confidence is the larger of the two probabilities.
   */
  public static Verdict fromProbability(Comparison comparison, double probabilityFirstBetter) {
    String chosen = probabilityFirstBetter > 0.5 ? comparison.getResponses(0).getId()
        : probabilityFirstBetter < 0.5 ? comparison.getResponses(1).getId() : null;
    return new Verdict(chosen, probabilityFirstBetter, Math.max(probabilityFirstBetter, 1 - probabilityFirstBetter));
  }

  public boolean tie() {
    return chosenResponseId == null;
  }
}

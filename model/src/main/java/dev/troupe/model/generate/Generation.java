package dev.troupe.model.generate;

/**
 * One generated response: its tokens, the log-prob of each under the sampling distribution
 * (temperature applied, before top-k / top-p truncation), the decoded text, and why it ended.
 */
public record Generation(long[] promptIds, long[] tokenIds, float[] logProbs, String text, Finish finish) {

  /** Why generation of a row stopped. */
  public enum Finish { STOP_TOKEN, STOP_STRING, LENGTH }

  public double sumLogProb() {
    double s = 0;
    for (float lp : logProbs) {
      s += lp;
    }
    return s;
  }
}

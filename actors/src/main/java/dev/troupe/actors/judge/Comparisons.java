package dev.troupe.actors.judge;

import dev.troupe.protocol.Comparison;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** What every judge checks and renders the same way: a comparison of exactly two responses, the rubric's hash. */
final class Comparisons {
  private Comparisons() {}

  static void requirePair(Comparison comparison) {
    if (comparison.getResponsesCount() != 2) {
      throw new IllegalArgumentException("comparison " + comparison.getId() + " holds "
          + comparison.getResponsesCount() + " responses; a judge compares exactly two");
    }
  }

  /**
   * The user turn a judge reads: the prompt, the two responses as "Response A" and "Response B", and the
   * question. The rubric goes before it (a system message, or the first paragraph for a local model).
   */
  static String question(String prompt, String responseA, String responseB) {
    return "Prompt:\n" + prompt.strip() + "\n\nResponse A:\n" + responseA.strip() + "\n\nResponse B:\n"
        + responseB.strip() + "\n\nWhich response is better? Answer with one letter, A or B.";
  }

  /**
   * P(first better) from both orders (Lee et al. 2023, "RLAIF": position bias cancels): the probability of "A"
   * with the first response shown as A, and of "A" with it shown as B.
   */
  static double firstBetter(double pAWithFirstAsA, double pAWithFirstAsB) {
    return (pAWithFirstAsA + (1 - pAWithFirstAsB)) / 2;
  }

  static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}

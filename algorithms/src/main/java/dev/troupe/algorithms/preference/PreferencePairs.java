package dev.troupe.algorithms.preference;

import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Response;
import java.util.ArrayList;
import java.util.List;

/** Token-level views of the protocol's {@link PreferencePair}, the one preference type every learner reads. */
public final class PreferencePairs {
  private PreferencePairs() {}

  /** A prompt with the chosen and one rejected continuation, as token ids. */
  public record Tokens(long[] prompt, long[] chosen, long[] rejected) {}

  /** A labelled pair of two token responses ("chosen" over "rejected") from {@code source}. */
  public static PreferencePair of(String id, long[] prompt, long[] chosen, long[] rejected, FeedbackSource source) {
    Comparison comparison = Comparison.newBuilder().setId(id)
        .setPrompt(Prompt.newBuilder().setId(id).addAllTokenIds(boxed(prompt)))
        .addResponses(Response.newBuilder().setId("chosen").addAllTokenIds(boxed(chosen)))
        .addResponses(Response.newBuilder().setId("rejected").addAllTokenIds(boxed(rejected)))
        .build();
    Label label = Label.newBuilder().setId(id).setComparisonId(id).setChosenResponseId("chosen").setSource(source)
        .setConfidence(1.0).build();
    return PreferencePair.newBuilder().setId(id).setComparison(comparison).setLabel(label).build();
  }

  /**
   * The pair as (prompt, chosen, rejected) token rows: one per response the label did not choose, so
   * a comparison of N responses with one chosen gives N − 1 pairs. Refuses a tie, "both bad" or a
   * chosen id that names no response, naming the pair.
   */
  public static List<Tokens> tokens(PreferencePair pair) {
    Label label = pair.getLabel();
    if (label.getTie() || label.getBothBad() || label.getChosenResponseId().isEmpty()) {
      throw new IllegalArgumentException("pair " + pair.getId() + " has no chosen response (tie or both bad):"
          + " it cannot be learned from as a preference");
    }
    long[] prompt = ids(pair.getComparison().getPrompt().getTokenIdsList());
    Response chosen = null;
    for (Response r : pair.getComparison().getResponsesList()) {
      if (r.getId().equals(label.getChosenResponseId())) {
        chosen = r;
      }
    }
    if (chosen == null) {
      throw new IllegalArgumentException("pair " + pair.getId() + ": the label chose response '"
          + label.getChosenResponseId() + "', which the comparison does not have");
    }
    List<Tokens> out = new ArrayList<>();
    for (Response r : pair.getComparison().getResponsesList()) {
      if (r != chosen) {
        out.add(new Tokens(prompt, ids(chosen.getTokenIdsList()), ids(r.getTokenIdsList())));
      }
    }
    if (prompt.length == 0 || out.isEmpty()) {
      throw new IllegalArgumentException("pair " + pair.getId() + " needs prompt token ids and at least two responses");
    }
    return out;
  }

  /** Every pair's token rows, in order. */
  public static List<Tokens> tokens(List<PreferencePair> pairs) {
    List<Tokens> out = new ArrayList<>();
    pairs.forEach(p -> out.addAll(tokens(p)));
    return out;
  }

  /** Prompt + chosen over prompt + rejected sequences: what a reward trainer reads, one per token row of each pair. */
  public static List<dev.troupe.algorithms.reward.TokenPair> tokenPairs(List<PreferencePair> pairs) {
    List<dev.troupe.algorithms.reward.TokenPair> out = new ArrayList<>();
    for (Tokens t : tokens(pairs)) {
      long[][] s = sequences(t);
      out.add(new dev.troupe.algorithms.reward.TokenPair(s[0], s[1], 0));
    }
    return out;
  }

  /** prompt + chosen and prompt + rejected as whole sequences (what a reward model scores). */
  public static long[][] sequences(Tokens t) {
    return new long[][] {Rollouts.join(t.prompt(), t.chosen()), Rollouts.join(t.prompt(), t.rejected())};
  }

  private static long[] ids(List<Long> ids) {
    return ids.stream().mapToLong(Long::longValue).toArray();
  }

  private static List<Long> boxed(long[] ids) {
    List<Long> out = new ArrayList<>(ids.length);
    for (long id : ids) {
      out.add(id);
    }
    return out;
  }
}

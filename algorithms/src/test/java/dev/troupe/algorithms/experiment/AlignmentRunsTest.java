package dev.troupe.algorithms.experiment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.Label;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Rollout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How DPO's pairs are put together (kinds taking turns, the reward model's best over its worst), and how the
 * reward model's accuracy is counted per kind.
 */
class AlignmentRunsTest {

  private static PreferencePair pair(String id, String kind) {
    return PreferencePair.newBuilder().setId(id)
        .setComparison(Comparison.newBuilder().setId(id).setPrompt(Prompt.newBuilder().setId(id).setKind(kind)))
        .setLabel(Label.newBuilder().setId(id)).build();
  }

  @Test
  void theRewardModelsAccuracyIsCountedPerKindOfThePairsPrompt() {
    List<PreferencePair> pairs = List.of(pair("a", "count"), pair("b", "count"), pair("c", "polite"),
        pair("d", "count"));
    assertEquals(Map.of("count", 2.0 / 3, "polite", 0.0),
        QuickstartSetup.accuracyByKind(pairs, new boolean[] {true, false, false, true}));
    assertEquals(0.5, RewardTrainer.accuracy(new boolean[] {true, false, false, true}));
    assertThrows(IllegalArgumentException.class, () -> QuickstartSetup.accuracyByKind(pairs, new boolean[3]));
  }

  @Test
  void balancedPairsTakeTurnsByKindAndKeepEveryPairOnce() {
    // Seven polite pairs, two of sort, one of count: as sampled, a batch of four would be all polite.
    List<PreferencePair> pairs = new ArrayList<>();
    for (int i = 0; i < 7; i++) {
      pairs.add(pair("p" + i, "polite"));
    }
    pairs.add(pair("s0", "sort"));
    pairs.add(pair("c0", "count"));
    pairs.add(pair("s1", "sort"));
    List<String> ids = AlignmentRuns.balancedByKind(pairs).stream().map(PreferencePair::getId).toList();
    assertEquals(List.of("c0", "p0", "s0", "p1", "s1", "p2", "p3", "p4", "p5", "p6"), ids);
  }

  private static Rollout rollout(String group, String text, double score, long... response) {
    Rollout.Builder r = Rollout.newBuilder().setGroupId(group).setText(text).setScore(score)
        .setPrompt(Prompt.newBuilder().setId(group).addTokenIds(1).addTokenIds(2));
    for (long t : response) {
      r.addResponseTokenIds(t);
    }
    return r.build();
  }

  @Test
  void onlinePairsAreEachPromptsHighestScoredSampleOverItsLowest() {
    List<Rollout> scored = List.of(
        rollout("g0", "b", 0.1, 5), rollout("g0", "a", 0.9, 6), rollout("g0", "c", -0.4, 7), rollout("g0", "d", 0.2, 8),
        // The second prompt's samples say the same thing: no preference to learn.
        rollout("g1", "x", 0.3, 9), rollout("g1", "x", 0.3, 9), rollout("g1", "x", 0.3, 9), rollout("g1", "x", 0.3, 9),
        // The training sampler decodes no text: samples told apart by their tokens still make a pair.
        rollout("g2", "", 0.5, 3), rollout("g2", "", 0.1, 4), rollout("g2", "", 0.2, 4), rollout("g2", "", 0.3, 3));
    List<PreferencePair> pairs = AlignmentRuns.bestOverWorst(scored, 4);
    assertEquals(2, pairs.size());
    assertArrayEquals(new long[] {3}, PreferencePairs.tokens(pairs.get(1)).get(0).chosen());
    assertArrayEquals(new long[] {4}, PreferencePairs.tokens(pairs.get(1)).get(0).rejected());
    PreferencePairs.Tokens tokens = PreferencePairs.tokens(pairs.get(0)).get(0);
    assertArrayEquals(new long[] {1, 2}, tokens.prompt());
    assertArrayEquals(new long[] {6}, tokens.chosen());
    assertArrayEquals(new long[] {7}, tokens.rejected());
  }
}

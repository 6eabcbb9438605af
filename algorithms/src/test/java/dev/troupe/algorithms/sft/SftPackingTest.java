package dev.troupe.algorithms.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.transformer.CausalLm;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * SFT packing pinned by hand: three examples laid end to end and cut into rows of five tokens, the
 * loss counting exactly the targets the mask says, computed here row by row with the model alone.
 */
@SuppressWarnings("try")
class SftPackingTest {
  /** prompt [1 2] completion [3 4 5], prompt [6] completion [7 8], prompt [9 10 11] completion [12]. */
  static final List<SftSample> SAMPLES = List.of(
      new SftSample(new long[] {1, 2}, new long[] {3, 4, 5}),
      new SftSample(new long[] {6}, new long[] {7, 8}),
      new SftSample(new long[] {9, 10, 11}, new long[] {12}));
  static final int PACK_LENGTH = 5;

  static NDManager root;
  static CausalLm model;

  @BeforeAll
  static void peakedModel() {
    root = NDManager.newBaseManager();
    model = CausalLm.random(ModelConfig.llama(16, 16, 1, 2, 1, 32, 32), 5, root);
    // At N(0, 0.02) every layout would score about log(16); spread, the predictions depend on the
    // context each row gives.
    Fixtures.spreadWeights(model);
  }

  @AfterAll
  static void close() {
    model.close();
    root.close();
  }

  /** −mean log p(row[t] | row[<t]) over the positions t ≥ 1 that {@code counted} marks, each row run alone. */
  static double expectedLoss(long[][] rows, int[][] counted) {
    double total = 0;
    int n = 0;
    try (GradMode ignored = GradMode.disabled()) {
      for (int r = 0; r < rows.length; r++) {
        try (NDManager step = root.newSubManager()) {
          NDArray ids = step.create(rows[r], new Shape(1, rows[r].length));
          float[] logits = model.forward(ids, null, null, false).toFloatArray();
          int vocab = model.config().vocabSize();
          for (int t : counted[r]) {
            total -= logSoftmax(logits, (t - 1) * vocab, vocab, (int) rows[r][t]);
            n++;
          }
        }
      }
    }
    return total / n;
  }

  static double logSoftmax(float[] logits, int from, int vocab, int target) {
    double max = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; v++) {
      max = Math.max(max, logits[from + v]);
    }
    double sum = 0;
    for (int v = 0; v < vocab; v++) {
      sum += Math.exp(logits[from + v] - max);
    }
    return logits[from + target] - max - Math.log(sum);
  }

  static SftTrainer packed(boolean maskPrompt) {
    // Batches of two rows: the third row is evaluated alone, the first two right-padded together.
    return new SftTrainer(model, null,
        SftConfig.defaults(1, 1e-3).withBatchSize(2).withMaskPrompt(maskPrompt).withPacking(PACK_LENGTH));
  }

  @Test
  void packedRowsAreTheExamplesEndToEndCutEveryFiveTokensWithACompletionOnlyMask() {
    // The stream 1..12 cut into [1 2 3 4 5] [6 7 8 9 10] and the kept tail [11 12]. Completion tokens
    // are targets, except where a cut makes one the first token of its row (nothing predicts it).
    long[][] rows = {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}, {11, 12}};
    int[][] completionTargets = {{2, 3, 4}, {1, 2}, {1}};
    double expected = expectedLoss(rows, completionTargets);
    assertEquals(expected, packed(true).evalLoss(SAMPLES), 1e-5 * expected);

    // The same examples unpacked (one row each, nothing seen across examples) score differently by
    // far more than the tolerance, so the equality above pins the layout, not just the tokens.
    double unpacked = new SftTrainer(model, null, SftConfig.defaults(1, 1e-3).withBatchSize(2)).evalLoss(SAMPLES);
    double unpackedByHand = expectedLoss(new long[][] {{1, 2, 3, 4, 5}, {6, 7, 8}, {9, 10, 11, 12}},
        new int[][] {{2, 3, 4}, {1, 2}, {3}});
    assertEquals(unpackedByHand, unpacked, 1e-5 * unpackedByHand);
    assertTrue(Math.abs(unpacked - expected) > 1e-2, "packed " + expected + " vs unpacked " + unpacked);
  }

  @Test
  void withoutThePromptMaskEveryTokenOfAnExampleButItsFirstIsATarget() {
    // Unmasked, an example's tokens after its first are targets, packed or not: the first tokens 6
    // and 9 stay unlearned even though packing puts context before them, so that packing changes
    // which tokens are learned only at the cuts (1, 6 and 11 start rows).
    long[][] rows = {{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}, {11, 12}};
    int[][] examplesButTheirFirst = {{1, 2, 3, 4}, {1, 2, 4}, {1}};
    double expected = expectedLoss(rows, examplesButTheirFirst);
    assertEquals(expected, packed(false).evalLoss(SAMPLES), 1e-5 * expected);
    double masked = expectedLoss(rows, new int[][] {{2, 3, 4}, {1, 2}, {1}});
    assertTrue(Math.abs(masked - expected) > 1e-2, "masked " + masked + " vs unmasked " + expected);
  }
}

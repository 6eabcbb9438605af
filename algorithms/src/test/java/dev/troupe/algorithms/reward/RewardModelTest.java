package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The reward model reads each row at its own last real token, whatever the padding. */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
class RewardModelTest {
  private static final List<long[]> ROWS = List.of(
      new long[] {1, 17, 42},
      new long[] {1, 5, 9, 13, 40, 2, 88, 61, 7},
      new long[] {1, 33, 33, 33, 90, 12},
      new long[] {1});

  @Test
  void eachRightPaddedRowIsScoredAtItsLastRealTokenAsIfScoredAlone() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(97), 4, root);
        RewardModel model = new RewardModel(base, null, RewardHead.random(64, 1, 8, root));
        NDManager step = root.newSubManager();
        GradMode ignored = GradMode.disabled()) {
      float[] alone = new float[ROWS.size()];
      for (int i = 0; i < ROWS.size(); i++) {
        long[] row = ROWS.get(i);
        NDArray scores = model.scores(step.create(row, new Shape(1, row.length)), null, false);
        assertEquals(new Shape(1), scores.getShape());
        alone[i] = scores.getFloat(0);
      }

      Batch right = Batch.rightPadded(step, ROWS);
      NDArray batched = model.scores(right.ids(), right.mask(), false);
      assertEquals(new Shape(ROWS.size()), batched.getShape());
      Batch left = Batch.leftPadded(step, ROWS);
      float[] leftPadded = model.scores(left.ids(), left.mask(), false).toFloatArray();
      // The padding-blind reading (last column) would score the three short rows at a pad token.
      NDArray lastColumn = model.head().apply(
          base.hidden(right.ids(), right.mask(), null, null, false).get(new NDIndex(":, -1, :"))).reshape(-1);

      for (int i = 0; i < ROWS.size(); i++) {
        assertEquals(alone[i], batched.getFloat(i), 1e-5, "right-padded row " + i);
        assertEquals(alone[i], leftPadded[i], 1e-5, "left-padded row " + i);
        if (ROWS.get(i).length < right.length()) {
          assertTrue(Math.abs(alone[i] - lastColumn.getFloat(i)) > 1e-3,
              "row " + i + ": the last column is a different position, so this test can tell them apart");
        }
      }
    }
  }

  @Test
  void ensembleScoreIsTheMeanAndPopulationSpreadOfItsHeads() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(97), 4, root);
        RewardModel ensemble = new RewardModel(base, null, RewardHead.random(64, 4, 8, root));
        RewardModel single = new RewardModel(base, null, RewardHead.random(64, 1, 8, root));
        NDManager step = root.newSubManager();
        GradMode ignored = GradMode.disabled()) {
      Batch batch = Batch.rightPadded(step, ROWS);
      NDArray perHead = ensemble.scores(batch.ids(), batch.mask(), false);
      assertEquals(new Shape(ROWS.size(), 4), perHead.getShape());
      float[] heads = perHead.toFloatArray();
      List<RewardModel.Score> scores = ensemble.score(ROWS);
      for (int i = 0; i < ROWS.size(); i++) {
        double mean = 0;
        for (int k = 0; k < 4; k++) {
          mean += heads[4 * i + k] / 4.0;
        }
        double variance = 0;
        for (int k = 0; k < 4; k++) {
          variance += Math.pow(heads[4 * i + k] - mean, 2) / 4.0;
        }
        assertEquals(mean, scores.get(i).mean(), 1e-6, "row " + i);
        assertEquals(Math.sqrt(variance), scores.get(i).std(), 1e-6, "row " + i);
        assertTrue(scores.get(i).std() > 0.05, "independently drawn heads disagree: " + scores.get(i));
      }

      float[] one = single.scores(batch.ids(), batch.mask(), false).toFloatArray();
      List<RewardModel.Score> singleScores = single.score(ROWS);
      for (int i = 0; i < ROWS.size(); i++) {
        assertEquals(one[i], singleScores.get(i).mean(), 1e-6);
        assertEquals(0.0, singleScores.get(i).std(), "one head has no spread");
      }
    }
  }
}

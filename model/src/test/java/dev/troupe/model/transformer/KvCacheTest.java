package dev.troupe.model.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class KvCacheTest {

  static ModelConfig config(String family) {
    return family.equals("llama") ? TinyModels.llama() : TinyModels.gpt2();
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "gpt2"})
  void kvCachedDecodingMatchesFullForwardInLeftPaddedBatch(String family) {
    try (NDManager root = NDManager.newBaseManager();
        GradMode ignored = GradMode.disabled();
        CausalLm model = CausalLm.random(config(family), 7, root)) {
      // Three rows of different lengths: prompts left-padded, then 5 decoded tokens each.
      long[][] prompts = {{5, 9, 13, 2, 40, 41, 3}, {7, 8}, {60, 61, 62, 63}};
      long[][] continuations = {{11, 12, 13, 14, 15}, {21, 22, 23, 24, 25}, {31, 32, 33, 34, 35}};
      try (NDManager step = root.newSubManager()) {
        NDArray[] prompt = TinyModels.leftPadded(step, prompts);
        int t0 = Math.toIntExact(prompt[0].getShape().get(1));
        KvCache cache = new KvCache(model.config(), 3, t0 + 5, DataType.FLOAT32, step);
        List<NDArray> cachedLogits = new ArrayList<>();
        cachedLogits.add(model.logits(model.hidden(prompt[0], prompt[1], cache, null, false)));
        for (int i = 0; i < 5; i++) {
          long[] next = {continuations[0][i], continuations[1][i], continuations[2][i]};
          NDArray ids = step.create(next).reshape(3, 1);
          cachedLogits.add(model.logits(model.hidden(ids, step.ones(ids.getShape()), cache, null, false)));
        }
        NDArray incremental = NDArrays.concat(new NDList(cachedLogits), 1);

        NDArray contIds = step.create(flatten(continuations)).reshape(3, 5);
        NDArray fullIds = NDArrays.concat(new NDList(prompt[0], contIds), 1);
        NDArray fullMask = NDArrays.concat(new NDList(prompt[1], step.ones(contIds.getShape())), 1);
        NDArray full = model.forward(fullIds, fullMask, null, false);

        // Compare only positions that hold real tokens.
        NDArray realMask = fullMask.expandDims(-1);
        float diff = TinyModels.maxAbsDiff(incremental.mul(realMask), full.mul(realMask));
        assertTrue(diff <= 1e-4f, family + ": cached vs full max abs diff " + diff);
        assertEquals(t0 + 5, cache.length());

        // A left-padded row gives the same logits as that row alone, unpadded.
        NDArray alone = model.forward(step.create(prompts[1]).reshape(1, 2), null, null, false);
        NDArray padded = full.get(new NDIndex("1:2, {}:{}", t0 - 2, t0));
        float padDiff = TinyModels.maxAbsDiff(alone, padded);
        assertTrue(padDiff <= 1e-4f, family + ": padded vs alone max abs diff " + padDiff);
      }
    }
  }

  private static long[] flatten(long[][] rows) {
    return java.util.Arrays.stream(rows).flatMapToLong(java.util.Arrays::stream).toArray();
  }
}

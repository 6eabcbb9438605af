package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.SharedFixtures;
import dev.troupe.algorithms.data.Datasets;
import dev.troupe.algorithms.data.PreferencePair;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The reward model on real human preferences: Anthropic HH-RLHF harmless-base test split, first
 * 1,800 pairs to train, the remaining 512 held out. A tiny model from random weights (no
 * pretrained weights are available offline), so the held-out accuracy is reported, with no bar
 * beyond clearly beating a coin.
 */
class HhRlhfRewardModelTest {
  private static final Logger LOG = LoggerFactory.getLogger(HhRlhfRewardModelTest.class);
  private static final int CONTEXT = 96;

  @Test
  void trainsEndToEndOnHarmlessBaseAndReportsHeldOutAccuracy() throws Exception {
    List<PreferencePair> rows = Datasets.hhRlhf(SharedFixtures.require("data/hh-rlhf/harmless-base/test.jsonl.gz")).rows();
    assertEquals(2312, rows.size());
    try (Tokenizer tokenizer = Tokenizer.load(SharedFixtures.require("models/gpt2-tokenizer/tokenizer.json"));
        NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(ModelConfig.llama(tokenizer.vocabSize(), 64, 2, 4, 2, 128, CONTEXT), 1, root)) {
      List<TokenPair> pairs = new ArrayList<>();
      for (PreferencePair p : rows) {
        pairs.add(new TokenPair(tail(tokenizer.encode(p.prompt() + p.chosen())), tail(tokenizer.encode(p.prompt() + p.rejected())), 0));
      }
      List<TokenPair> train = pairs.subList(0, 1800);
      List<TokenPair> test = pairs.subList(1800, pairs.size());
      RewardModel rm = new RewardModel(model, null, RewardHead.random(64, 1, 1, root));
      try (RewardTrainer trainer = new RewardTrainer(rm, RewardTrainer.Config.of(RewardTrainer.Trainable.HEAD_AND_BASE, 32, 1e-3).withSeed(1))) {
        double before = trainer.evaluate(train.subList(0, 256));
        List<RewardTrainer.StepMetrics> steps = trainer.train(train);
        double trainAccuracy = trainer.evaluate(train.subList(0, 256));
        double heldOut = trainer.evaluate(test);
        double firstLoss = steps.subList(0, 5).stream().mapToDouble(RewardTrainer.StepMetrics::loss).average().orElseThrow();
        double lastLoss = steps.subList(steps.size() - 5, steps.size()).stream().mapToDouble(RewardTrainer.StepMetrics::loss).average().orElseThrow();
        LOG.info("hh-rlhf harmless-base reward model: {} steps, loss {} -> {}, train accuracy {} -> {}, held-out accuracy {} on {} pairs",
            steps.size(), firstLoss, lastLoss, before, trainAccuracy, heldOut, test.size());
        assertEquals(57, steps.size(), "one epoch of 1,800 pairs in batches of 32");
        // No bar for a tiny model from random weights, but it must have learnt something that carries to
        // unseen pairs: a coin scores 0.5 ± 0.022 on 512 pairs; measured 0.641 (BENCHMARKS.md).
        assertTrue(heldOut > 0.55, "held-out accuracy " + heldOut + " is no better than chance");
        assertTrue(lastLoss < firstLoss, "training loss did not fall: " + firstLoss + " -> " + lastLoss);
      }
      rm.close();
    }
  }

  /** The last CONTEXT tokens: where chosen and rejected differ (the final reply). */
  private static long[] tail(long[] ids) {
    return ids.length <= CONTEXT ? ids : Arrays.copyOfRange(ids, ids.length - CONTEXT, ids.length);
  }
}

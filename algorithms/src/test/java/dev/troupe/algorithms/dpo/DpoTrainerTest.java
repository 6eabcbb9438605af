package dev.troupe.algorithms.dpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

class DpoTrainerTest {
  private static final Logger LOG = LoggerFactory.getLogger(DpoTrainerTest.class);
  @TempDir Path dir;

  private static double sum(float[] values) {
    double s = 0;
    for (float v : values) {
      s += v;
    }
    return s;
  }

  /**
   * Gradient accumulation: a batch of 6 pairs in 4 micro-batches (2, 2, 1, 1) gives the update and the
   * metrics of the batch in one pass; responses of different lengths make the micro-batches unlike.
   */
  @Test
  void fourMicroBatchesOfUnevenSizeTrainAsOneBatch() throws Exception {
    List<Metrics> whole = new ArrayList<>();
    List<Metrics> accumulated = new ArrayList<>();
    List<float[]> wholeWeights = trainWithAccumulation(1, whole);
    List<float[]> accumulatedWeights = trainWithAccumulation(4, accumulated);
    Fixtures.assertCloseTensors(wholeWeights, accumulatedWeights, "adapter after 4 steps");
    for (int i = 0; i < whole.size(); i++) {
      for (String name : List.of(MetricNames.LOSS, "rewards/chosen", "rewards/margins", "rewards/accuracies")) {
        assertEquals(whole.get(i).get(name), accumulated.get(i).get(name), 1e-5, name + " of step " + i);
      }
    }
  }

  private List<float[]> trainWithAccumulation(int microBatches, List<Metrics> steps) throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir); NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 1, root)) {
      List<PreferencePair> pairs = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        pairs.add(pair(tokenizer.encode("q" + i + ":"), tokenizer.encode(i % 2 == 0 ? " yes" : " yes, gladly"),
            tokenizer.encode(i % 3 == 0 ? " no" : " no, never")));
      }
      Adapter adapter = model.createAdapter("dpo", LoraConfig.of(4, 8, "q", "v"), 2);
      try (DpoTrainer trainer = new DpoTrainer(model, adapter, DpoConfig.defaults(), OptimizerSettings.of(1e-2).withGradientAccumulation(microBatches))) {
        for (int step = 0; step < 4; step++) {
          steps.add(trainer.step(pairs));
        }
      }
      return Fixtures.snapshot(adapter.parameters());
    }
  }

  @Test
  void trainingWidensTheChosenOverRejectedMarginWhileTheReferenceStaysPut() throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir); NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 1, root)) {
      List<PreferencePair> pairs = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        pairs.add(pair(tokenizer.encode("q" + i + ":"), tokenizer.encode(" yes"), tokenizer.encode(" no")));
      }
      PreferencePairs.Tokens first0 = PreferencePairs.tokens(pairs.get(0)).get(0);
      long[] prompt = first0.prompt();
      List<long[]> prompts = List.of(prompt, prompt);
      List<long[]> answers = List.of(first0.chosen(), first0.rejected());
      List<float[]> refBefore = LogProbs.score(model, prompts, answers, null, 1.0);

      Adapter adapter = model.createAdapter("dpo", LoraConfig.of(8, 16, "q", "k", "v", "o", "gate", "up", "down"), 2);
      List<Metrics> history = new ArrayList<>();
      try (DpoTrainer trainer = new DpoTrainer(model, adapter, DpoConfig.defaults(), OptimizerSettings.of(1e-2))) {
        for (int step = 0; step < 30; step++) {
          history.add(trainer.step(pairs));
        }
      }
      Metrics first = history.get(0);
      Metrics last = history.get(history.size() - 1);
      // At step 0 the adapter is the reference (B = 0): implicit rewards are exactly 0, loss ln 2.
      assertEquals(Math.log(2), first.get("loss"), 1e-5);
      assertEquals(0.0, first.get("rewards/margins"), 1e-6);
      // Measured 2026-11-23: margin 0.53 (β·5.3 nats), loss 0.46 after 30 steps. A LoRA adapter over a
      // random base moves logits slowly (the frozen head's rows are small), hence modest bounds.
      assertTrue(last.get("rewards/margins") > 0.4, "margin after 30 steps " + last.get("rewards/margins"));
      assertEquals(1.0, last.get("rewards/accuracies"), 1e-9);
      assertTrue(last.get("loss") < 0.55, "loss " + last.get("loss"));

      List<float[]> policy = LogProbs.score(model, prompts, answers, adapter, 1.0);
      List<float[]> refAfter = LogProbs.score(model, prompts, answers, null, 1.0);
      assertTrue(sum(policy.get(0)) - sum(policy.get(1)) > sum(refAfter.get(0)) - sum(refAfter.get(1)) + 4,
          "the policy prefers ' yes' over ' no' by more than 4 nats beyond the reference");
      for (int i = 0; i < 2; i++) {
        for (int t = 0; t < refBefore.get(i).length; t++) {
          assertEquals(refBefore.get(i)[t], refAfter.get(i)[t], 0f, "the reference (adapter off) moved");
        }
      }
    }
  }

  @Test
  void aBatchWithANonFiniteLossIsSkippedAndCountedAndTrainingGoesOn() throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir); NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 1, root)) {
      Fixtures.poisonToken(model, '~');
      List<PreferencePair> clean = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        clean.add(pair(tokenizer.encode("q" + i + ":"), tokenizer.encode(" yes"), tokenizer.encode(" no")));
      }
      List<PreferencePair> poisoned = new ArrayList<>(clean);
      poisoned.set(2, pair(tokenizer.encode("q~:"), tokenizer.encode(" yes"), tokenizer.encode(" no")));
      Adapter adapter = model.createAdapter("dpo", LoraConfig.of(8, 16, "q", "k", "v", "o", "gate", "up", "down"), 2);
      try (DpoTrainer trainer = new DpoTrainer(model, adapter, DpoConfig.defaults(), OptimizerSettings.of(1e-2))) {
        assertEquals(0, trainer.step(clean).get(MetricNames.OPTIM_SKIPPED_STEPS), 0);
        List<float[]> before = Fixtures.snapshot(adapter.parameters());

        Metrics bad = trainer.step(poisoned);
        assertTrue(Double.isNaN(bad.get(MetricNames.LOSS)), bad.toString());
        assertEquals(1, bad.get(MetricNames.OPTIM_SKIPPED_STEPS), 0);
        List<float[]> after = Fixtures.snapshot(adapter.parameters());
        for (int i = 0; i < before.size(); i++) {
          assertArrayEquals(before.get(i), after.get(i), 0f, "adapter tensor " + i + " moved on a NaN loss");
        }

        Metrics last = null;
        for (int step = 0; step < 5; step++) {
          last = trainer.step(clean);
          assertTrue(Double.isFinite(last.get(MetricNames.LOSS)), last.toString());
          assertEquals(1, last.get(MetricNames.OPTIM_SKIPPED_STEPS), 0, "the count is a running total");
        }
        LOG.info("DPO after a skipped step and 5 clean ones: {}", last);
        assertFalse(Fixtures.sameValues(after, Fixtures.snapshot(adapter.parameters())), "clean batches train again");
        // The margin starts at exactly 0 (see the test above) and grows with each clean step.
        assertTrue(last.get(MetricNames.REWARDS_MARGINS) > 0, last.toString());
      }
    }
  }
  private static int pairCount;

  /** A dataset pair of token rows under a fresh id. */
  private static PreferencePair pair(long[] prompt, long[] chosen, long[] rejected) {
    return PreferencePairs.of("pair-" + pairCount++, prompt, chosen, rejected, FeedbackSource.FEEDBACK_SOURCE_DATASET);
  }
}

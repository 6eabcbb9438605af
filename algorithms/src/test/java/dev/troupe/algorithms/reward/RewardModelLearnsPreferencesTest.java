package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.reward.RewardTrainer.StepMetrics;
import dev.troupe.algorithms.reward.RewardTrainer.Trainable;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End to end on {@link BigramPreferences}: a tiny byte-level Llama trained from random weights
 * learns the rater's preference and applies it to pairs it never saw; a linear probe on the
 * untrained weights cannot, so the preference is learned by the trunk, not read off the bytes.
 */
class RewardModelLearnsPreferencesTest {
  private static final Logger LOG = LoggerFactory.getLogger(RewardModelLearnsPreferencesTest.class);
  private static final int TRAIN_PAIRS = 512;
  private static final int HELD_OUT_PAIRS = 200;

  @TempDir Path dir;

  @Test
  void fullFineTuningFromRandomWeightsRanksHeldOutPairsAbove90Percent() throws Exception {
    // Measured: held-out accuracy 0.49 before, 1.0 after 4 epochs (64 steps, 2.4 s on 2 cores).
    // With 4 heads over 6 trunk seeds: 0.58 - 0.72 after one epoch, 1.0 after four in every one.
    double accuracy = train(Trainable.HEAD_AND_BASE, Pooling.LAST_TOKEN, 4, 2e-3);
    assertTrue(accuracy >= 0.9, "held-out accuracy " + accuracy);
  }

  @ParameterizedTest
  @EnumSource(value = Pooling.class, names = {"TOKEN_SUM", "TOKEN_SUM_LIKELIHOOD"})
  void tokenSumPoolingsLearnThePreferenceToo(Pooling pooling) throws Exception {
    // Measured: held-out accuracy 0.485 -> 1.0 (TOKEN_SUM) and 0.51 -> 1.0 (TOKEN_SUM_LIKELIHOOD) after the
    // same 64 steps, 3.0 and 3.1 s on 2 cores; the bar is LAST_TOKEN's.
    double accuracy = train(Trainable.HEAD_AND_BASE, pooling, 4, 2e-3);
    assertTrue(accuracy >= 0.9, pooling + " held-out accuracy " + accuracy);
  }

  @Test
  void aLinearProbeOnTheRandomBaseStaysNearChance() throws Exception {
    // Both responses hold the same bytes, and a random trunk's last state is close to a bag of
    // bytes. Measured: 0.49 before, 0.505 after the same 64 steps (train accuracy of the last batch 0.66).
    double accuracy = train(Trainable.HEAD, Pooling.LAST_TOKEN, 4, 2e-3);
    assertTrue(accuracy < 0.65, "held-out accuracy " + accuracy);
  }

  private double train(Trainable trainable, Pooling pooling, int epochs, double lr) throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir);
        NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 7, root);
        RewardModel model = new RewardModel(base, null, RewardHead.random(64, 1, pooling, 107, root))) {
      BigramPreferences task = new BigramPreferences(tokenizer, 1);
      List<TokenPair> train = task.pairs(TRAIN_PAIRS);
      List<TokenPair> heldOut = task.pairs(HELD_OUT_PAIRS);
      RewardTrainer.Config config = RewardTrainer.Config.of(trainable, 32, lr).withEpochs(epochs).withSeed(11);
      try (RewardTrainer trainer = new RewardTrainer(model, config)) {
        double before = trainer.evaluate(heldOut);
        long start = System.nanoTime();
        List<StepMetrics> steps = trainer.train(train);
        long millis = (System.nanoTime() - start) / 1_000_000;
        double after = trainer.evaluate(heldOut);
        StepMetrics last = steps.get(steps.size() - 1);
        LOG.info("{}, {}: {} steps in {} ms, held-out accuracy {} -> {}, last step {}", trainable, pooling,
            steps.size(), millis, before, after, last.asMap());
        return after;
      }
    }
  }
}

package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.reward.RewardTrainer.Trainable;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An ensemble of four heads over one trunk, trained with the centring term: its members agree on
 * the kind of input they were trained on and disagree on bytes they never saw, which is what lets
 * the feedback collector send raters the pairs the reward model is unsure about.
 */
class RewardEnsembleTest {
  private static final Logger LOG = LoggerFactory.getLogger(RewardEnsembleTest.class);

  @TempDir Path dir;

  @Test
  void centredEnsembleDisagreesMoreOnUnseenBytesThanOnTrainingInputs() throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir);
        NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 7, root);
        RewardModel model = new RewardModel(base, null, RewardHead.random(64, 4, 107, root))) {
      BigramPreferences task = new BigramPreferences(tokenizer, 1);
      List<TokenPair> train = task.pairs(512);
      List<TokenPair> heldOut = task.pairs(200);
      List<long[]> unseen = new ArrayList<>(task.outOfDistribution("wxyz", 50));
      unseen.addAll(task.outOfDistribution("0123456789", 50));
      RewardTrainer.Config config = RewardTrainer.Config.of(Trainable.HEAD_AND_BASE, 32, 2e-3)
          .withEpochs(4).withCenterRewards(0.01).withSeed(11);
      try (RewardTrainer trainer = new RewardTrainer(model, config)) {
        trainer.train(train);
        double accuracy = trainer.evaluate(heldOut);
        double trainingSpread = BigramPreferences.meanStd(model.score(BigramPreferences.chosen(train.subList(0, 100))));
        double heldOutSpread = BigramPreferences.meanStd(model.score(BigramPreferences.chosen(heldOut.subList(0, 100))));
        double unseenSpread = BigramPreferences.meanStd(model.score(unseen));
        LOG.info("ensemble of 4: held-out accuracy {}, mean std across heads: training {}, held-out {}, unseen bytes {}",
            accuracy, trainingSpread, heldOutSpread, unseenSpread);

        // Measured (this seed): accuracy 1.0; std 0.125 training, 0.141 held-out, 0.312 unseen bytes
        // (2.5 times). Over 6 trunk seeds unseen / training ranged from 1.8 to 5.7; without the
        // centring term from 0.8 to 2.3, below 1 for 4 of the 6: each head's free offset, not
        // disagreement, dominated the spread.
        assertTrue(accuracy >= 0.9, "the ensemble's mean reward ranks held-out pairs: " + accuracy);
        assertTrue(trainingSpread > 0, "heads drawn apart stay apart");
        assertTrue(unseenSpread > 1.5 * trainingSpread,
            "std on unseen bytes " + unseenSpread + " vs on training inputs " + trainingSpread);
      }
    }
  }
}

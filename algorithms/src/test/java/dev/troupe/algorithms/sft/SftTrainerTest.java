package dev.troupe.algorithms.sft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SftTrainerTest {
  @TempDir Path dir;

  private static List<SftSample> samples(Tokenizer tokenizer, int n, String answer) {
    List<SftSample> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new SftSample(tokenizer.encode("q" + (i % 7) + ":"), tokenizer.encode(answer)));
    }
    return out;
  }

  @Test
  void packedTrainingLearnsTheCompletionsAndValidationFalls() throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir); NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 1, root)) {
      List<SftSample> train = samples(tokenizer, 40, " yes, exactly.");
      List<SftSample> eval = samples(tokenizer, 8, " yes, exactly.");
      SftTrainer trainer = new SftTrainer(model, null,
          SftConfig.defaults(60, 3e-3).withBatchSize(4).withPacking(48).withEvaluation(20, 3));
      double before = trainer.evalLoss(eval);
      SftTrainer.Result result = trainer.train(train, eval, m -> { });
      assertEquals(60, result.steps());
      assertTrue(result.bestEvalLoss() < before / 5, "validation loss " + before + " -> " + result.bestEvalLoss());
    }
  }

  @Test
  void earlyStoppingStopsAndRestoresTheBestWeights() throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir); NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 1, root)) {
      Adapter adapter = model.createAdapter("sft", LoraConfig.of(4, 8, "q", "v"), 1);
      // Train on one answer, validate on another: validation gets worse once training fits.
      List<SftSample> train = samples(tokenizer, 20, " red");
      List<SftSample> eval = samples(tokenizer, 6, " blue");
      SftTrainer trainer = new SftTrainer(model, adapter,
          SftConfig.defaults(200, 1e-2).withBatchSize(4).withEvaluation(5, 2));
      SftTrainer.Result result = trainer.train(train, eval, m -> { });
      assertTrue(result.stoppedEarly(), "ran all " + result.steps() + " steps");
      assertTrue(result.steps() < 200);
      assertEquals(result.bestEvalLoss(), trainer.evalLoss(eval), 1e-4, "the best weights are the ones left");
    }
  }
}

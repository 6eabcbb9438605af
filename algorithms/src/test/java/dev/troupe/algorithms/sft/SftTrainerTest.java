package dev.troupe.algorithms.sft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
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

class SftTrainerTest {
  private static final Logger LOG = LoggerFactory.getLogger(SftTrainerTest.class);
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

  /**
   * The loss is the mean next-token NLL over completion tokens only when the prompt is masked, and
   * over every token after the first when it is not: checked against the log-probs the generator's
   * scorer gives the same tokens, for examples of different prompt and completion lengths.
   */
  @Test
  void theLossCountsExactlyTheTokensTheMaskSays() throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir); NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 1, root)) {
      List<SftSample> samples = List.of(new SftSample(tokenizer.encode("q:"), tokenizer.encode(" a long answer")),
          new SftSample(tokenizer.encode("a longer question:"), tokenizer.encode(" ok")),
          new SftSample(tokenizer.encode("x"), tokenizer.encode(" mid answer")));
      // A few steps on the completions alone: prompt and completion tokens then have very different losses.
      new SftTrainer(model, null, SftConfig.defaults(20, 1e-2).withBatchSize(3)).train(samples, List.of(), m -> { });
      List<long[]> prompts = samples.stream().map(SftSample::prompt).toList();
      List<long[]> completions = samples.stream().map(SftSample::completion).toList();
      double masked = new SftTrainer(model, null, SftConfig.defaults(1, 1e-3).withBatchSize(8)).evalLoss(samples);
      assertEquals(meanNll(LogProbs.score(model, prompts, completions, null, 1.0)), masked, 1e-5);

      List<long[]> firstTokens = new ArrayList<>();
      List<long[]> rest = new ArrayList<>();
      for (SftSample s : samples) {
        long[] all = java.util.Arrays.copyOf(s.prompt(), s.length());
        System.arraycopy(s.completion(), 0, all, s.prompt().length, s.completion().length);
        firstTokens.add(new long[] {all[0]});
        rest.add(java.util.Arrays.copyOfRange(all, 1, all.length));
      }
      double unmasked = new SftTrainer(model, null, SftConfig.defaults(1, 1e-3).withBatchSize(8).withMaskPrompt(false))
          .evalLoss(samples);
      assertEquals(meanNll(LogProbs.score(model, firstTokens, rest, null, 1.0)), unmasked, 1e-5);
      assertTrue(unmasked > masked + 0.5, "masked " + masked + " vs unmasked " + unmasked);
    }
  }

  private static double meanNll(List<float[]> logProbs) {
    double sum = 0;
    int count = 0;
    for (float[] row : logProbs) {
      for (float v : row) {
        sum -= v;
        count++;
      }
    }
    return sum / count;
  }

  /**
   * Gradient accumulation: 2 micro-batches of 3 rows give the update of one batch of 6, though the
   * micro-batches hold different numbers of target tokens (answers of 2 and 21 bytes), so a plain
   * average of their mean losses would weight the tokens of the shorter micro-batch more.
   */
  @Test
  void twoMicroBatchesOfThreeTrainAsOneBatchOfSix() throws Exception {
    List<float[]> whole = trainAdapterWithAccumulation(6, 1);
    List<float[]> accumulated = trainAdapterWithAccumulation(3, 2);
    Fixtures.assertCloseTensors(whole, accumulated, "adapter after 5 steps");
  }

  private List<float[]> trainAdapterWithAccumulation(int batchSize, int microBatches) throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir); NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 1, root)) {
      Adapter adapter = model.createAdapter("sft", LoraConfig.of(4, 8, "q", "v"), 1);
      List<SftSample> train = new ArrayList<>();
      for (int i = 0; i < 12; i++) {
        train.add(new SftSample(tokenizer.encode("q" + i + ":"), tokenizer.encode(i % 4 < 2 ? " a" : " a much longer answer")));
      }
      List<Double> losses = new ArrayList<>();
      new SftTrainer(model, adapter, SftConfig.defaults(5, 1e-2).withBatchSize(batchSize)
          .withGradientAccumulation(microBatches)).train(train, List.of(), m -> losses.add(m.get("loss")));
      LOG.info("batch {} x {} micro-batches: losses {}", batchSize, microBatches, losses);
      List<float[]> weights = new ArrayList<>();
      adapter.parameters().forEach(p -> weights.add(p.toFloatArray()));
      return weights;
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

  /**
   * Two examples, one step each per epoch in shuffled order: the one whose prompt holds a poisoned
   * token has a NaN loss at every step it is drawn, the other trains.
   */
  @Test
  void stepsWithANonFiniteLossAreSkippedAndCountedAndTheOthersStillTrain() throws Exception {
    try (Tokenizer tokenizer = Fixtures.byteTokenizer(dir); NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(Fixtures.tinyLlama(tokenizer.vocabSize()), 1, root)) {
      Fixtures.poisonToken(model, '~');
      Adapter adapter = model.createAdapter("sft", LoraConfig.of(8, 16, "q", "k", "v", "o", "gate", "up", "down"), 1);
      List<SftSample> train = List.of(new SftSample(tokenizer.encode("q:"), tokenizer.encode(" yes")),
          new SftSample(tokenizer.encode("q~"), tokenizer.encode(" yes")));
      List<Metrics> steps = new ArrayList<>();
      List<List<float[]>> weights = new ArrayList<>();
      weights.add(Fixtures.snapshot(adapter.parameters()));
      // No warm-up (its step 0 has rate 0), so every clean step moves the weights.
      SftConfig config = new SftConfig(20, 1, 1, 1e-2, 0, 0.0, 1.0, true, false, 128, 0, 3, 1);
      SftTrainer trainer = new SftTrainer(model, adapter, config);
      trainer.train(train, List.of(), m -> {
        steps.add(m);
        weights.add(Fixtures.snapshot(adapter.parameters()));
      });

      int skipped = 0;
      List<Double> cleanLosses = new ArrayList<>();
      for (int i = 0; i < steps.size(); i++) {
        Metrics m = steps.get(i);
        boolean nonFinite = !Double.isFinite(m.get(MetricNames.LOSS));
        assertEquals(nonFinite ? 1 : 0, m.get("skipped"), 0, "step " + i + ": " + m);
        if (nonFinite) {
          skipped++;
          for (int t = 0; t < weights.get(i).size(); t++) {
            assertArrayEquals(weights.get(i).get(t), weights.get(i + 1).get(t), 0f, "step " + i + ", tensor " + t);
          }
        } else {
          cleanLosses.add(m.get(MetricNames.LOSS));
          assertFalse(Fixtures.sameValues(weights.get(i), weights.get(i + 1)), "clean step " + i + " trains");
        }
        assertEquals(skipped, m.get(MetricNames.OPTIM_SKIPPED_STEPS), 0, "running count at step " + i);
      }
      LOG.info("SFT with a poisoned example: {} of {} steps skipped; clean loss {} -> {}", skipped, steps.size(),
          cleanLosses.get(0), cleanLosses.get(cleanLosses.size() - 1));
      assertEquals(10, skipped, "each epoch of 2 steps draws the poisoned example once");
      // Measured: the clean example's loss falls from 5.65 to 4.34 nats over its 10 steps (a LoRA over a
      // random base learns slowly, see TinyModelMemorisesTextTest); the bound asks for half of that.
      assertTrue(cleanLosses.get(cleanLosses.size() - 1) < cleanLosses.get(0) - 0.6, "clean losses " + cleanLosses);
    }
  }
}

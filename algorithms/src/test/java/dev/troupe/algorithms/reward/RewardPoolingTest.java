package dev.troupe.algorithms.reward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.reward.RewardTrainer.Trainable;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.LoraLayer;
import dev.troupe.model.safetensors.SafeTensors;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The token-sum poolings: every real token counts once and no padding counts at all, the
 * likelihood term is the trunk's own log-likelihood of the sequence, α learns, and a head keeps its
 * pooling through save and load.
 */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
class RewardPoolingTest {
  private static final Logger LOG = LoggerFactory.getLogger(RewardPoolingTest.class);
  private static final int VOCAB = 97;
  private static final int HIDDEN = 64;
  private static final List<long[]> ROWS = List.of(
      new long[] {1, 17, 42},
      new long[] {1, 5, 9, 13, 40, 2, 88, 61, 7},
      new long[] {1, 33, 33, 33, 90, 12},
      new long[] {1});

  @TempDir Path dir;

  /** A LoRA adapter on q, v and up with a seeded non-zero B, so the trunk it gives differs from the plain base. */
  private static Adapter perturbedAdapter(CausalLm base) {
    Adapter adapter = base.createAdapter("reward", LoraConfig.of(4, 8, "q", "v", "up"), 2);
    Random random = new Random(3);
    for (LoraLayer layer : adapter.layers().values()) {
      float[] noise = new float[Math.toIntExact(layer.b().size())];
      for (int i = 0; i < noise.length; i++) {
        noise[i] = (float) (0.5 * random.nextGaussian());
      }
      layer.b().addi(adapter.manager().create(noise, layer.b().getShape()));
    }
    return adapter;
  }

  /**
   * A causal trunk gives a prompt's tokens the same states whatever follows, so a response's own
   * share of a token sum is the joined sequence's score less the prompt's score alone; that share
   * is what score(prompts, responses) returns, and it carries the first response token's log-prob.
   */
  @ParameterizedTest
  @EnumSource(value = Pooling.class, names = {"TOKEN_SUM", "TOKEN_SUM_LIKELIHOOD"})
  void responseScoresAreTheJoinedScoreLessThePromptsOwn(Pooling pooling) {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(VOCAB), 4, root);
        RewardModel model = new RewardModel(base, perturbedAdapter(base), RewardHead.random(HIDDEN, 1, pooling, 8, root))) {
      if (pooling == Pooling.TOKEN_SUM_LIKELIHOOD) {
        model.head().likelihoodWeight().set(new float[] {0.7f});
      }
      List<long[]> prompts = List.of(new long[] {1, 17, 42}, new long[] {1, 5}, new long[] {1, 33, 33, 90});
      List<long[]> responses = List.of(new long[] {8, 2}, new long[] {9, 13, 40, 2, 88}, new long[] {12});
      List<long[]> joined = new ArrayList<>();
      for (int i = 0; i < prompts.size(); i++) {
        long[] row = Arrays.copyOf(prompts.get(i), prompts.get(i).length + responses.get(i).length);
        System.arraycopy(responses.get(i), 0, row, prompts.get(i).length, responses.get(i).length);
        joined.add(row);
      }
      List<RewardModel.Score> whole = model.score(joined);
      List<RewardModel.Score> promptAlone = model.score(prompts);
      List<RewardModel.Score> response = model.score(prompts, responses);
      for (int i = 0; i < prompts.size(); i++) {
        double expected = whole.get(i).mean() - promptAlone.get(i).mean();
        LOG.info("{} row {}: joined {} - prompt {} = {}, response score {}", pooling, i, whole.get(i).mean(),
            promptAlone.get(i).mean(), expected, response.get(i).mean());
        assertEquals(expected, response.get(i).mean(), 1e-4, pooling + " row " + i);
        assertTrue(Math.abs(promptAlone.get(i).mean()) > 1e-3, "the prompt's own share is not zero, so the test can fail");
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = Pooling.class, names = {"TOKEN_SUM", "TOKEN_SUM_LIKELIHOOD"})
  void eachRowScoresTheSameAloneAndInRightOrLeftPaddedBatches(Pooling pooling) {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(VOCAB), 4, root);
        RewardModel model = new RewardModel(base, perturbedAdapter(base), RewardHead.random(HIDDEN, 2, pooling, 8, root));
        NDManager step = root.newSubManager();
        GradMode ignored = GradMode.disabled()) {
      if (pooling == Pooling.TOKEN_SUM_LIKELIHOOD) {
        model.head().likelihoodWeight().set(new float[] {0.5f, -2f}); // two members that weigh it apart
      }
      float[][] alone = new float[ROWS.size()][];
      for (int i = 0; i < ROWS.size(); i++) {
        long[] row = ROWS.get(i);
        NDArray scores = model.scores(step.create(row, new Shape(1, row.length)), null, false);
        assertEquals(new Shape(1, 2), scores.getShape());
        alone[i] = scores.toFloatArray();
      }
      Batch right = Batch.rightPadded(step, ROWS);
      Batch left = Batch.leftPadded(step, ROWS);
      float[] rightPadded = model.scores(right.ids(), right.mask(), false).toFloatArray();
      float[] leftPadded = model.scores(left.ids(), left.mask(), false).toFloatArray();
      // Seen before the fix: left padding also counted log p(first real token | a pad), about
      // log(1/97), so row 0 scored -8.10 instead of -5.93 under α = 0.5.
      for (int i = 0; i < ROWS.size(); i++) {
        for (int k = 0; k < 2; k++) {
          assertEquals(alone[i][k], rightPadded[2 * i + k], 1e-4, pooling + " right-padded row " + i + " member " + k);
          assertEquals(alone[i][k], leftPadded[2 * i + k], 1e-4, pooling + " left-padded row " + i + " member " + k);
        }
      }
      LOG.info("{}: scores alone {}", pooling, Arrays.deepToString(alone));
    }
  }

  @Test
  void tokenSumLikelihoodIsTheHeadSummedOverTokensPlusAlphaTimesTheTrunksLogLikelihood() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(VOCAB), 4, root)) {
      Adapter adapter = perturbedAdapter(base);
      float[] alpha = {0.5f, -2f};
      try (RewardModel withLikelihood = new RewardModel(base, adapter,
              RewardHead.random(HIDDEN, 2, Pooling.TOKEN_SUM_LIKELIHOOD, 8, root));
          NDManager step = root.newSubManager();
          GradMode ignored = GradMode.disabled()) {
        withLikelihood.head().likelihoodWeight().set(alpha);
        float[] weight = withLikelihood.head().parameters().get(0).toFloatArray(); // [2, hidden]
        Batch batch = Batch.rightPadded(step, ROWS);
        float[] actual = withLikelihood.scores(batch.ids(), batch.mask(), false).toFloatArray();

        for (int i = 0; i < ROWS.size(); i++) {
          long[] row = ROWS.get(i);
          // Σ_t w_k · h_t, in Java, from the trunk's states for the row alone.
          float[] hidden = base.hidden(step.create(row, new Shape(1, row.length)), null, null, adapter, false)
              .toFloatArray();
          double logLikelihood = 0; // a lone token predicts nothing
          if (row.length > 1) {
            logLikelihood = logLikelihoods(base, adapter, List.of(row))[0];
            assertTrue(Math.abs(logLikelihoods(base, null, List.of(row))[0] - logLikelihood) > 1e-2,
                "row " + i + ": the adapter changes the likelihood, so reading the plain base would show");
          }
          for (int k = 0; k < 2; k++) {
            double tokenSum = 0;
            for (int t = 0; t < row.length; t++) {
              for (int j = 0; j < HIDDEN; j++) {
                tokenSum += weight[k * HIDDEN + j] * hidden[t * HIDDEN + j];
              }
            }
            double expected = tokenSum + alpha[k] * logLikelihood;
            assertEquals(expected, actual[2 * i + k], 1e-4 * Math.max(1, Math.abs(expected)),
                "row " + i + " member " + k + ": token sum " + tokenSum + ", log-likelihood " + logLikelihood);
          }
        }
      }
    }
  }

  /** Σ log p(token_t | tokens < t), t ≥ 1, of each row under the base and adapter, from the scorer PPO and DPO use. */
  private static double[] logLikelihoods(CausalLm base, Adapter adapter, List<long[]> rows) {
    List<long[]> firsts = rows.stream().map(row -> new long[] {row[0]}).toList();
    List<long[]> rests = rows.stream().map(row -> Arrays.copyOfRange(row, 1, row.length)).toList();
    List<float[]> perToken = LogProbs.score(base, firsts, rests, adapter, 1.0);
    double[] sums = new double[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      for (float lp : perToken.get(i)) {
        sums[i] += lp;
      }
    }
    return sums;
  }

  @Test
  void trainingMovesTheLikelihoodWeightWhereTheRaterDisagreesWithTheTrunk() {
    // Pairs of random rows of one length; the rater prefers the one the trunk finds less likely, so
    // α = 1 starts out ranking every pair the wrong way round and the gradient must push it down.
    Random random = new Random(5);
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(VOCAB), 7, root);
        RewardModel model = new RewardModel(base, null,
            RewardHead.random(HIDDEN, 2, Pooling.TOKEN_SUM_LIKELIHOOD, 107, root))) {
      List<long[]> rows = new ArrayList<>();
      for (int i = 0; i < 128; i++) {
        long[] row = new long[8];
        row[0] = 1;
        for (int t = 1; t < row.length; t++) {
          row[t] = 2 + random.nextInt(VOCAB - 2);
        }
        rows.add(row);
      }
      double[] logLikelihood = logLikelihoods(base, null, rows);
      List<TokenPair> pairs = new ArrayList<>();
      for (int i = 0; i < rows.size(); i += 2) {
        boolean firstLessLikely = logLikelihood[i] < logLikelihood[i + 1];
        pairs.add(TokenPair.of(rows.get(firstLessLikely ? i : i + 1), rows.get(firstLessLikely ? i + 1 : i)));
      }
      float[] headBefore = model.head().parameters().get(0).toFloatArray();
      assertArrayEquals(new float[] {1f, 1f}, model.head().likelihoodWeight().toFloatArray(), "α starts at 1");
      double lr = 1e-2;
      RewardTrainer.Config config = RewardTrainer.Config.of(Trainable.HEAD, 16, lr).withEpochs(2).withSeed(3);
      try (RewardTrainer trainer = new RewardTrainer(model, config)) {
        assertEquals(2, trainer.parameters().size(), "the score weight and α");
        trainer.step(pairs.subList(0, 16));
        // Adam's first step moves each entry by lr · g / (|g| + 1e-8): by lr where a gradient
        // arrived, not at all where none did.
        float[] alphaAfterOne = model.head().likelihoodWeight().toFloatArray();
        float[] headAfterOne = model.head().parameters().get(0).toFloatArray();
        for (int k = 0; k < 2; k++) {
          assertEquals(1 - lr, alphaAfterOne[k], 1e-4, "member " + k + ": α after one step");
        }
        int movedByLr = 0;
        for (int i = 0; i < headBefore.length; i++) {
          movedByLr += Math.abs(Math.abs(headAfterOne[i] - headBefore[i]) - lr) < 1e-4 ? 1 : 0;
        }
        assertEquals(headBefore.length, movedByLr, "head entries moved by lr in the first step");

        trainer.train(pairs);
        float[] alpha = model.head().likelihoodWeight().toFloatArray();
        LOG.info("α after 1 step {}, after 9 steps at lr {}: {}", Arrays.toString(alphaAfterOne), lr,
            Arrays.toString(alpha));
        // Measured: α 0.99 after one step and 0.91 after nine for both members: Adam moves it by lr every step.
        for (int k = 0; k < 2; k++) {
          assertTrue(alpha[k] < 1 - 5 * lr, "member " + k + " α " + alpha[k]);
        }
      }
    }
  }

  @Test
  void savedAndLoadedHeadKeepsItsPoolingBothTensorsAndItsScores() throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(VOCAB), 4, root);
        RewardModel original = new RewardModel(base, null,
            RewardHead.random(HIDDEN, 2, Pooling.TOKEN_SUM_LIKELIHOOD, 8, root))) {
      original.head().likelihoodWeight().set(new float[] {0.3f, -1.7f}); // not the initial 1s
      original.head().save(dir);
      assertEquals(List.of("likelihood.weight", "score.weight"),
          SafeTensors.header(dir.resolve(RewardHead.WEIGHTS_FILE)).keySet().stream().sorted().toList());
      assertTrue(Files.readString(dir.resolve(RewardHead.CONFIG_FILE)).contains("\"pooling\" : \"token_sum_likelihood\""));

      try (NDManager elsewhere = NDManager.newBaseManager();
          RewardModel loaded = new RewardModel(base, null, RewardHead.load(dir, elsewhere));
          NDManager step = root.newSubManager();
          GradMode ignored = GradMode.disabled()) {
        assertEquals(Pooling.TOKEN_SUM_LIKELIHOOD, loaded.head().pooling());
        assertArrayEquals(original.head().parameters().get(0).toFloatArray(),
            loaded.head().parameters().get(0).toFloatArray());
        assertArrayEquals(new float[] {0.3f, -1.7f}, loaded.head().likelihoodWeight().toFloatArray());
        Batch batch = Batch.rightPadded(step, ROWS);
        assertArrayEquals(original.scores(batch.ids(), batch.mask(), false).toFloatArray(),
            loaded.scores(batch.ids(), batch.mask(), false).toFloatArray());
      }
    }
  }

  @Test
  void aHeadFileWithAnUnknownPoolingIsRefusedNamingTheFileAndTheKnownOnes() throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        RewardHead head = RewardHead.random(HIDDEN, 1, Pooling.TOKEN_SUM, 8, root)) {
      head.save(dir);
      Path config = dir.resolve(RewardHead.CONFIG_FILE);
      Files.writeString(config, Files.readString(config).replace("\"token_sum\"", "\"mean\""));
      ModelFormatException e = assertThrows(ModelFormatException.class, () -> RewardHead.load(dir, root));
      assertTrue(e.getMessage().contains(config.toString()) && e.getMessage().contains("pooling")
          && e.getMessage().contains("'mean'") && e.getMessage().contains("token_sum_likelihood"), e.getMessage());
    }
  }

  @Test
  void aTokenSumLikelihoodHeadWithoutItsLikelihoodWeightIsRefusedNamingTheFile() throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        RewardHead head = RewardHead.random(HIDDEN, 1, Pooling.TOKEN_SUM, 8, root)) {
      head.save(dir); // score.weight only
      Path config = dir.resolve(RewardHead.CONFIG_FILE);
      Files.writeString(config, Files.readString(config).replace("\"token_sum\"", "\"token_sum_likelihood\""));
      int before = root.getManagedArrays().size();
      ModelFormatException e = assertThrows(ModelFormatException.class, () -> RewardHead.load(dir, root));
      assertTrue(e.getMessage().contains(dir.resolve(RewardHead.WEIGHTS_FILE).toString())
          && e.getMessage().contains("likelihood.weight") && e.getMessage().contains("token_sum_likelihood"),
          e.getMessage());
      assertEquals(before, root.getManagedArrays().size(), "a failed load keeps nothing");
    }
  }

  @Test
  void aHeadFileFromBeforePoolingLoadsAsLastToken() throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm base = CausalLm.random(Fixtures.tinyLlama(VOCAB), 4, root);
        RewardModel original = new RewardModel(base, null, RewardHead.random(HIDDEN, 1, 8, root))) {
      original.head().save(dir);
      Path config = dir.resolve(RewardHead.CONFIG_FILE);
      String withPooling = Files.readString(config);
      String old = withPooling.replaceAll(",\\s*\"pooling\" : \"last_token\"", "");
      assertTrue(!old.contains("pooling") && old.contains("num_members"), old);
      Files.writeString(config, old);
      try (RewardModel loaded = new RewardModel(base, null, RewardHead.load(dir, root))) {
        assertEquals(Pooling.LAST_TOKEN, loaded.head().pooling());
        assertEquals(1, loaded.head().parameters().size(), "no likelihood weight");
        assertEquals(original.score(ROWS), loaded.score(ROWS));
      }
    }
  }

  @Test
  void parsingAnUnknownPoolingListsTheKnownOnes() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pooling.parse("mean"));
    for (Pooling p : Pooling.values()) {
      assertTrue(e.getMessage().contains(p.key()), e.getMessage());
      assertEquals(p, Pooling.parse(p.key()));
    }
    assertTrue(e.getMessage().contains("'mean'"), e.getMessage());
  }
}

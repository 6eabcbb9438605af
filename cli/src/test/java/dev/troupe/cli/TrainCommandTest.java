package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.reward.Pooling;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TrainCommandTest {
  @TempDir Path dir;

  @BeforeEach
  void tinyModelAndData() throws Exception {
    Path model = dir.resolve("model");
    Files.createDirectories(model);
    Tokenizer.writeByteLevel(model.resolve("tokenizer.json"), List.of("<s>", "</s>"));
    try (NDManager root = NDManager.newBaseManager();
        CausalLm lm = CausalLm.random(ModelConfig.llama(258, 32, 1, 2, 1, 64, 128), 3, root)) {
      HfModel.save(lm, model);
    }
    Files.writeString(dir.resolve("pairs.jsonl"), """
        {"prompt": "2+2=", "chosen": " 4", "rejected": " 5"}
        {"prompt": "3+3=", "chosen": " 6", "rejected": " 7"}
        {"prompt": "say hi", "chosen": " hi!", "rejected": " no"}
        """);
  }

  private Path config(String body) throws Exception {
    Path file = dir.resolve("train.conf");
    Files.writeString(file, "troupe.train {\n  model = model\n  data.train = pairs.jsonl\n  output = out\n" + body + "\n}\n");
    return file;
  }

  @Test
  void dpoTrainsAnAdapterThatLoadsBackAsPeft() throws Exception {
    Path conf = config("  steps = 3\n  batch-size = 2\n  adapter.targets = [q, v]");
    Object[] result = ModelCommandTest.troupe("train", "dpo", "--config", conf.toString());
    assertEquals(0, result[0], (String) result[2]);
    try (NDManager root = NDManager.newBaseManager();
        CausalLm lm = HfModel.load(dir.resolve("model"), HfModel.LoadOptions.defaults(), root)) {
      Adapter adapter = PeftAdapters.load(dir.resolve("out/adapter"), "dpo", lm);
      assertEquals(2, adapter.layers().size(), "q and v of the one layer");
      // Three DPO steps moved B away from its zero start.
      float b = adapter.layers().values().iterator().next().b().abs().sum().getFloat();
      assertTrue(b > 0, "B is still zero after training");
    }
  }

  @Test
  void rmWithTokenSumLikelihoodPoolingWritesAHeadThatLoadsBackWithItsPooling() throws Exception {
    Path conf = config("  rm.pooling = token_sum_likelihood\n  optim.lr = 1e-2\n  adapter.targets = [q, v]");
    Object[] result = ModelCommandTest.troupe("train", "rm", "--config", conf.toString());
    assertEquals(0, result[0], (String) result[2]);
    assertTrue(((String) result[1]).contains("held-out accuracy"), (String) result[1]);
    try (NDManager root = NDManager.newBaseManager();
        RewardHead head = RewardHead.load(dir.resolve("out/head"), root)) {
      assertEquals(Pooling.TOKEN_SUM_LIKELIHOOD, head.pooling());
      // Two of the three pairs train, in one step (batch-size 8, one epoch); Adam's first step moves
      // α from 1 by exactly lr, so the weight was trained, not just saved.
      float alpha = head.likelihoodWeight().getFloat(0);
      assertEquals(1e-2, Math.abs(alpha - 1), 1e-4, "α " + alpha);
    }
  }

  @Test
  void unknownRmPoolingNamesFileLineKeyPathAndTheKnownOnes() throws Exception {
    Path conf = config("  rm { pooling = mean }");
    Object[] result = ModelCommandTest.troupe("train", "rm", "--config", conf.toString());
    assertEquals(2, result[0]);
    String err = (String) result[2];
    assertTrue(err.contains("train.conf:5") && err.contains("troupe.train.rm.pooling") && err.contains("'mean'")
        && err.contains("last_token, token_sum, token_sum_likelihood"), err);
  }

  @Test
  void misspeltKeyNamesFileLinePathAndTheKeyItMeant() throws Exception {
    Path conf = config("  steps = 3\n  optim { lr = 1e-4, max-grad-nrom = 1.0 }");
    Object[] result = ModelCommandTest.troupe("train", "dpo", "--config", conf.toString());
    assertEquals(2, result[0]);
    String err = (String) result[2];
    assertTrue(err.contains("train.conf:6") && err.contains("troupe.train.optim.max-grad-nrom")
        && err.contains("did you mean 'troupe.train.optim.max-grad-norm'"), err);
  }

  @Test
  void unknownAlgorithmIsAnErrorListingTheKnownOnes() throws Exception {
    Path conf = config("  algorithm = ppx");
    Object[] result = ModelCommandTest.troupe("train", "--config", conf.toString());
    assertEquals(2, result[0]);
    String err = (String) result[2];
    assertTrue(err.contains("unknown algorithm 'ppx'") && err.contains("sft, rm, ppo, grpo, rloo, dpo, ipo, cdpo")
        && err.contains("train.conf:5"), err);
  }

  /** The B matrices of an adapter written by `troupe train`: zero at the start, so above zero means trained. */
  private float trainedB(String folder, String name) throws Exception {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm lm = HfModel.load(dir.resolve("model"), HfModel.LoadOptions.defaults(), root)) {
      Adapter adapter = PeftAdapters.load(dir.resolve(folder).resolve("adapter"), name, lm);
      float sum = 0;
      for (var layer : adapter.layers().values()) {
        sum += layer.b().abs().sum().getFloat();
      }
      return sum;
    }
  }

  @Test
  void sftWithGradientAccumulationTrainsAnAdapter() throws Exception {
    Files.writeString(dir.resolve("sft.jsonl"), """
        {"prompt": "2+2=", "completion": " 4"}
        {"prompt": "3+3=", "completion": " 6"}
        {"messages": [{"role": "user", "content": "say hi"}, {"role": "assistant", "content": "hi!"}]}
        """);
    Files.writeString(dir.resolve("sft-eval.jsonl"), """
        {"prompt": "4+4=", "completion": " 8"}
        """);
    Path conf = config("  data.train = sft.jsonl\n  data.eval = sft-eval.jsonl\n  steps = 4\n  batch-size = 4"
        + "\n  optim.gradient-accumulation-steps = 2\n  optim.lr = 1e-2\n  adapter.targets = [q, v]"
        + "\n  sft { packing = true, pack-length = 16, eval-every = 2, patience = 5 }");
    Object[] result = ModelCommandTest.troupe("train", "sft", "--config", conf.toString());
    assertEquals(0, result[0], (String) result[2]);
    assertTrue(((String) result[1]).contains("best validation loss") && ((String) result[1]).contains("of 4"),
        (String) result[1]);
    assertTrue(trainedB("out", "sft") > 0, "B is still zero after 4 SFT steps");
  }

  /**
   * The whole RL path of the command: a reward model (with the rater-strength margin and gradient
   * accumulation) written by `train rm`, then PPO, GRPO and RLOO adapters trained against it.
   */
  @Test
  void ppoGrpoAndRlooTrainAgainstARewardModelFromTrainRm() throws Exception {
    Files.writeString(dir.resolve("pairs.jsonl"), """
        {"prompt": "2+2=", "chosen": " 4", "rejected": " 5", "strength": 2.0}
        {"prompt": "3+3=", "chosen": " 6", "rejected": " 7", "strength": 0.5}
        {"prompt": "say hi", "chosen": " hi!", "rejected": " no", "margin": 1.0}
        {"prompt": "1+1=", "chosen": " 2", "rejected": " 3"}
        """);
    Object[] rm = ModelCommandTest.troupe("train", "rm", "--config", config("  output = rm\n  rm.margin = true\n  rm.members = 2"
        + "\n  batch-size = 2\n  optim.gradient-accumulation-steps = 2\n  rm.epochs = 2\n  adapter.targets = [q, v]").toString());
    assertEquals(0, rm[0], (String) rm[2]);
    Files.writeString(dir.resolve("prompts.jsonl"), """
        {"prompt": "2+2="}
        {"prompt": "say hi"}
        """);
    for (String algorithm : List.of("ppo", "grpo", "rloo")) {
      // PPO with the adaptive KL controller, two minibatches and a critic rate of its own, GRPO / RLOO with two
      // passes per batch.
      Path conf = config("  data.train = prompts.jsonl\n  reward-model = rm\n  output = out-" + algorithm
          + "\n  steps = 2\n  batch-size = 2\n  generation.max-new-tokens = 4\n  optim.lr = 1e-2\n  adapter.targets = [q, v]"
          + "\n  ppo { kl-target = 1.0, kl-horizon = 100, minibatches = 2, critic-lr = 5e-2 }\n  grpo.iterations = 2");
      Object[] result = ModelCommandTest.troupe("train", algorithm, "--config", conf.toString());
      assertEquals(0, result[0], algorithm + ": " + result[2]);
      assertTrue(trainedB("out-" + algorithm, algorithm) > 0, algorithm + ": B is still zero after 2 iterations");
    }
  }

  @Test
  void ipoAndCdpoTrainAdapters() throws Exception {
    for (String algorithm : List.of("ipo", "cdpo")) {
      String smoothing = algorithm.equals("cdpo") ? "\n  dpo.label-smoothing = 0.1" : "";
      Path conf = config("  output = out-" + algorithm + "\n  steps = 2\n  batch-size = 2\n  optim.lr = 1e-2"
          + smoothing + "\n  adapter.targets = [q, v]");
      Object[] result = ModelCommandTest.troupe("train", algorithm, "--config", conf.toString());
      assertEquals(0, result[0], algorithm + ": " + result[2]);
      assertTrue(trainedB("out-" + algorithm, algorithm) > 0, algorithm + ": B is still zero after 2 steps");
    }
  }

  /** A value the run cannot use, or one it would silently ignore, is an error naming file, line and key path. */
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "dpo | data.bad-rows = skp | troupe.train.data.bad-rows: unknown value 'skp' (expected one of: fail, skip)",
      "dpo | data.format = csv | troupe.train.data.format: unknown value 'csv' (expected one of: trl, hh)",
      "sft | data.format = hh | troupe.train.data.format = hh reads preference pairs",
      "dpo | dpo.label-smoothing = 0.1 | troupe.train.dpo.label-smoothing = 0.1 applies to cdpo only",
      "ppo | optim.gradient-accumulation-steps = 2 | troupe.train.optim.gradient-accumulation-steps applies to sft, rm, dpo",
      "rm | optim.gradient-accumulation-steps = 3 | must divide troupe.train.batch-size = 8",
      "rm | optim.gradient-accumulation-steps = 0 | troupe.train.optim.gradient-accumulation-steps must be positive",
      "sft | sft.eval-every = 10 | troupe.train.sft.eval-every = 10 needs troupe.train.data.eval",
      "ppo | ppo.critic-lr = -1e-3 | troupe.train.ppo.critic-lr must be a number > 0 (or null), got -0.001"})
  void valuesTheRunCannotUseNameFileLineAndKey(String algorithm, String line, String expected) throws Exception {
    Object[] result = ModelCommandTest.troupe("train", algorithm, "--config", config("  " + line).toString());
    assertEquals(2, result[0], "exit code; stderr: " + result[2]);
    String err = (String) result[2];
    assertTrue(err.contains("train.conf:5") && err.contains(expected), err);
  }

  @Test
  void badDataRowIsAnErrorNamingFileAndLine() throws Exception {
    Files.writeString(dir.resolve("pairs.jsonl"), "{\"prompt\": \"a\", \"chosen\": \" b\", \"rejected\": \" c\"}\n"
        + "{\"prompt\": \"a\", \"chosen\": \" b\"}\n");
    Object[] result = ModelCommandTest.troupe("train", "dpo", "--config", config("  steps = 1").toString());
    assertEquals(2, result[0]);
    String err = (String) result[2];
    assertTrue(err.contains("pairs.jsonl:2") && err.contains("rejected"), err);
  }
}

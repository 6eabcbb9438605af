package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What `troupe train` writes does what its algorithm is for, measured with the adapter it wrote: DPO
 * raises the chosen response's log-prob relative to the rejected one's, SFT raises the completion's
 * log-prob (over a dense and an NF4 base), and the reward model ranks held-out pairs the way its
 * labels say.
 */
class TrainCommandAdapterEffectTest {
  private static final Logger LOG = LoggerFactory.getLogger(TrainCommandAdapterEffectTest.class);
  @TempDir Path dir;
  private Tokenizer tokenizer;

  @BeforeEach
  void tinyModel() throws Exception {
    Path model = dir.resolve("model");
    Files.createDirectories(model);
    tokenizer = Tokenizer.load(Tokenizer.writeByteLevel(model.resolve("tokenizer.json"), List.of("<s>", "</s>")));
    SpreadModels.write(ModelConfig.llama(258, 32, 2, 4, 2, 64, 128), 3, model);
  }

  @AfterEach
  void closeTokenizer() {
    tokenizer.close();
  }

  private Path config(String body) throws Exception {
    Path file = dir.resolve("train.conf");
    Files.writeString(file, "troupe.train {\n  model = model\n  output = out\n" + body + "\n}\n");
    return file;
  }

  /** The ids `troupe train` gives a prompt: BOS, then the text. */
  private long[] prompt(String text) {
    long[] body = tokenizer.encode(text);
    long[] ids = new long[body.length + 1];
    ids[0] = tokenizer.bosId().orElseThrow();
    System.arraycopy(body, 0, ids, 1, body.length);
    return ids;
  }

  /** The ids `troupe train` gives a response: the text, then EOS. */
  private long[] response(String text) {
    long[] body = tokenizer.encode(text);
    long[] ids = java.util.Arrays.copyOf(body, body.length + 1);
    ids[body.length] = tokenizer.eosId().orElseThrow();
    return ids;
  }

  /** Summed log-prob of each response after its prompt, with the adapter (null: the base). */
  private static double[] logProbs(CausalLm model, Adapter adapter, List<long[]> prompts, List<long[]> responses) {
    List<float[]> perToken = LogProbs.score(model, prompts, responses, adapter, 1.0);
    double[] sums = new double[perToken.size()];
    for (int i = 0; i < sums.length; i++) {
      for (float lp : perToken.get(i)) {
        sums[i] += lp;
      }
    }
    return sums;
  }

  private static void run(String algorithm, Path conf) {
    Object[] result = ModelCommandTest.troupe("train", algorithm, "--config", conf.toString());
    assertEquals(0, result[0], algorithm + ": " + result[2]);
  }

  static final String[][] PAIRS = {
      {"2+2=", " 4", " 5"}, {"3+3=", " 6", " 7"}, {"1+1=", " 2", " 3"},
      {"say hi", " hi!", " no"}, {"5+5=", " 10", " 11"}, {"sky?", " blue", " bleu"}};

  @Test
  void dpoAdapterRaisesChosenOverRejectedAgainstTheBase() throws Exception {
    StringBuilder rows = new StringBuilder();
    for (String[] p : PAIRS) {
      rows.append(String.format("{\"prompt\": \"%s\", \"chosen\": \"%s\", \"rejected\": \"%s\"}%n", p[0], p[1], p[2]));
    }
    Files.writeString(dir.resolve("pairs.jsonl"), rows.toString());
    run("dpo", config("  data.train = pairs.jsonl\n  steps = 15\n  batch-size = 6\n  optim.lr = 5e-3\n  dpo.beta = 0.1"));

    List<long[]> prompts = new ArrayList<>();
    List<long[]> chosen = new ArrayList<>();
    List<long[]> rejected = new ArrayList<>();
    for (String[] p : PAIRS) {
      prompts.add(prompt(p[0]));
      chosen.add(response(p[1]));
      rejected.add(response(p[2]));
    }
    try (NDManager root = NDManager.newBaseManager();
        CausalLm lm = HfModel.load(dir.resolve("model"), HfModel.LoadOptions.defaults(), root)) {
      Adapter adapter = lm.register(PeftAdapters.load(dir.resolve("out/adapter"), "dpo", lm));
      double[] chosenBase = logProbs(lm, null, prompts, chosen);
      double[] rejectedBase = logProbs(lm, null, prompts, rejected);
      double[] chosenTuned = logProbs(lm, adapter, prompts, chosen);
      double[] rejectedTuned = logProbs(lm, adapter, prompts, rejected);
      for (int i = 0; i < PAIRS.length; i++) {
        // DPO's implicit reward margin, in nats: how much more the adapter prefers chosen than the base does.
        double gain = (chosenTuned[i] - rejectedTuned[i]) - (chosenBase[i] - rejectedBase[i]);
        LOG.info("dpo pair {}: log-prob margin {} (base) -> {} (adapter), gain {}", i,
            chosenBase[i] - rejectedBase[i], chosenTuned[i] - rejectedTuned[i], gain);
        // Measured: 21 to 48 nats after 15 steps.
        assertTrue(gain > 5.0, "pair " + i + ": chosen-minus-rejected log-prob moved by " + gain + " nats");
      }
    }
  }

  /**
   * SFT over the dense base and, with {@code quantize = nf4}, over the NF4 base (QLoRA from the
   * command line): each adapter raises its completions' log-prob on the base it was trained over, and
   * the two adapters differ, since the NF4 run saw other base weights.
   */
  @Test
  void sftAdapterRaisesTheCompletionsLogProbOverADenseAndAnNf4Base() throws Exception {
    String[][] rows = {{"2+2=", " 4"}, {"3+3=", " 6"}, {"say hi", " hi!"}, {"sky?", " blue"}};
    StringBuilder jsonl = new StringBuilder();
    for (String[] r : rows) {
      jsonl.append(String.format("{\"prompt\": \"%s\", \"completion\": \"%s\"}%n", r[0], r[1]));
    }
    Files.writeString(dir.resolve("sft.jsonl"), jsonl.toString());
    List<long[]> prompts = new ArrayList<>();
    List<long[]> completions = new ArrayList<>();
    for (String[] r : rows) {
      prompts.add(prompt(r[0]));
      completions.add(response(r[1]));
    }
    List<float[]> trainedB = new ArrayList<>();
    for (String quantize : List.of("none", "nf4")) {
      run("sft", config("  data.train = sft.jsonl\n  quantize = " + quantize + "\n  output = out-" + quantize
          + "\n  steps = 15\n  batch-size = 4\n  optim.lr = 1e-2"));
      try (NDManager root = NDManager.newBaseManager();
          CausalLm lm = HfModel.load(dir.resolve("model"),
              new HfModel.LoadOptions(DataType.FLOAT32, Quantization.parse(quantize)), root)) {
        Adapter adapter = lm.register(PeftAdapters.load(dir.resolve("out-" + quantize + "/adapter"), "sft", lm));
        trainedB.add(adapter.layers().values().iterator().next().b().toFloatArray());
        double[] base = logProbs(lm, null, prompts, completions);
        double[] tuned = logProbs(lm, adapter, prompts, completions);
        for (int i = 0; i < rows.length; i++) {
          double perToken = (tuned[i] - base[i]) / completions.get(i).length;
          LOG.info("sft ({}) row {}: completion log-prob {} (base) -> {} (adapter), {} nats per token", quantize, i,
              base[i], tuned[i], perToken);
          // Measured: 6.5 to 9.0 nats per token after 15 steps, over either base.
          assertTrue(perToken > 3.0, quantize + " row " + i + ": completion log-prob rose by " + perToken
              + " nats per token");
        }
      }
    }
    assertTrue(!java.util.Arrays.equals(trainedB.get(0), trainedB.get(1)),
        "the nf4 run trained exactly the adapter of the dense run: was the base quantized?");
  }

  /**
   * The reward model trained on labels ranks the two held-out pairs (the last tenth of the file) as
   * the labels do, and the same data with the labels swapped ranks them the other way: the ranking
   * comes from training, not from the base or the head's random start.
   */
  @Test
  void rewardModelRanksHeldOutPairsTheWayItsLabelsSay() throws Exception {
    for (boolean swapped : new boolean[] {false, true}) {
      String good = swapped ? " no" : " yes";
      String bad = swapped ? " yes" : " no";
      StringBuilder rows = new StringBuilder();
      for (int i = 0; i < 20; i++) {
        rows.append(String.format("{\"prompt\": \"q%d:\", \"chosen\": \"%s\", \"rejected\": \"%s\"}%n", i, good, bad));
      }
      Files.writeString(dir.resolve("rm.jsonl"), rows.toString());
      Path out = dir.resolve(swapped ? "rm-swapped" : "rm");
      Object[] result = ModelCommandTest.troupe("train", "rm", "--config", config("  data.train = rm.jsonl\n  output = "
          + out.getFileName() + "\n  batch-size = 6\n  rm.epochs = 3\n  optim.lr = 1e-2").toString());
      assertEquals(0, result[0], (String) result[2]);

      try (NDManager root = NDManager.newBaseManager();
          CausalLm lm = HfModel.load(dir.resolve("model"), HfModel.LoadOptions.defaults(), root);
          RewardHead head = RewardHead.load(out.resolve("head"), root)) {
        Adapter adapter = lm.register(PeftAdapters.load(out.resolve("adapter"), "rm", lm));
        RewardModel rm = new RewardModel(lm, adapter, head);
        for (int i = 18; i < 20; i++) {
          List<long[]> prompts = List.of(prompt("q" + i + ":"), prompt("q" + i + ":"));
          List<RewardModel.Score> scores = rm.score(prompts, List.of(response(" yes"), response(" no")));
          double yesOverNo = scores.get(0).mean() - scores.get(1).mean();
          LOG.info("rm (labels {}): held-out pair {}: r(yes) - r(no) = {}", swapped ? "swapped" : "as given", i, yesOverNo);
          assertTrue(swapped ? yesOverNo < 0 : yesOverNo > 0, (swapped ? "swapped" : "given") + " labels, held-out pair "
              + i + ": r(yes) - r(no) = " + yesOverNo);
        }
      }
    }
  }
}

package dev.troupe.cli.demo;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.sft.SftConfig;
import dev.troupe.algorithms.sft.SftSample;
import dev.troupe.algorithms.sft.SftTrainer;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.Generation;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.tokenizer.PromptFormat;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * The model core end to end with nothing downloaded: a tiny Llama learns to answer curtly, a LoRA
 * adapter on the frozen base learns to answer politely, and both are served from the one base.
 */
public final class AdapterDemo {
  static final List<String> QUESTIONS = List.of(
      "what time is it?", "can you help me?", "where is the station?", "is it raining?",
      "what is your name?", "do you like tea?", "how old are you?", "can I sit here?",
      "may I ask something?", "is the shop open?");
  static final int HELD_OUT = 2;
  static final String CURT = "no.";
  static final String POLITE = "of course, friend! happy to help.";
  /** Plain text the base also learns, so the words of either answer are in its vocabulary of habits. */
  static final List<String> TEXT = List.of(
      "of course, friend! happy to help.", "no. no. no.", "the station is near the shop.",
      "tea is hot. it is raining.", "happy to see you, friend.");

  /** What the demo reports. */
  public record Result(double baseLossStart, double baseLossEnd, double adapterLossStart,
      double adapterLossEnd, double politeLogProbBase, double politeLogProbAdapter,
      List<String[]> heldOut, Path output, double seconds) {}

  /** Training progress: (phase, loss) after each step. */
  public interface Progress extends BiConsumer<String, Double> {}

  private final int baseSteps;
  private final int adapterSteps;
  private final long seed;

  public AdapterDemo(int baseSteps, int adapterSteps, long seed) {
    this.baseSteps = baseSteps;
    this.adapterSteps = adapterSteps;
    this.seed = seed;
  }

  public Result run(Path output, Progress progress) throws IOException {
    long start = System.nanoTime();
    java.nio.file.Files.createDirectories(output.resolve("base"));
    Tokenizer tokenizer = Tokenizer.load(
        Tokenizer.writeByteLevel(output.resolve("base/tokenizer.json"), List.of("<s>", "</s>")));
    long eos = tokenizer.eosId().orElseThrow();
    ModelConfig config = ModelConfig.llama(tokenizer.vocabSize(), 64, 2, 4, 2, 128, 128).withEos(List.of(eos));
    try (NDManager root = NDManager.newBaseManager(); CausalLm model = CausalLm.random(config, seed, root)) {
      List<long[]> prompts = new ArrayList<>();
      for (String q : QUESTIONS) {
        prompts.add(prompt(tokenizer, q));
      }
      List<long[]> trainPrompts = prompts.subList(0, prompts.size() - HELD_OUT);
      // The base learns the curt answer for every training question (full fine-tuning).
      List<SftSample> baseRows = new ArrayList<>();
      long[] curt = answer(tokenizer, CURT, eos);
      trainPrompts.forEach(p -> baseRows.add(new SftSample(p, curt)));
      long[] bos = {tokenizer.bosId().orElseThrow()};
      TEXT.forEach(line -> baseRows.add(new SftSample(bos, Rollouts.join(tokenizer.encode(line), new long[] {eos}))));
      double[] base = train(model, null, baseRows, baseSteps, 3e-3, loss -> progress.accept("base", loss));

      // An adapter over the now-frozen base learns the polite answer.
      Adapter polite = model.createAdapter("polite", LoraConfig.of(8, 16, "q", "k", "v", "o", "gate", "up", "down"), seed);
      long[] politeAnswer = answer(tokenizer, POLITE, eos);
      List<SftSample> adapterRows = trainPrompts.stream().map(p -> new SftSample(p, politeAnswer)).toList();
      double[] adapter = train(model, polite, adapterRows, adapterSteps, 1e-2, loss -> progress.accept("adapter", loss));

      List<long[]> heldOutPrompts = prompts.subList(prompts.size() - HELD_OUT, prompts.size());
      List<long[]> politeAnswers = heldOutPrompts.stream().map(p -> politeAnswer).toList();
      double lpBase = meanLogProb(LogProbs.score(model, heldOutPrompts, politeAnswers, null, 1.0));
      double lpAdapter = meanLogProb(LogProbs.score(model, heldOutPrompts, politeAnswers, polite, 1.0));

      Generator generator = new Generator(model, tokenizer);
      SamplingParams greedy = SamplingParams.greedy(48);
      List<Generation> fromBase = generator.generateIds(heldOutPrompts, null, greedy);
      List<Generation> fromAdapter = generator.generateIds(heldOutPrompts, polite, greedy);
      List<String[]> rows = new ArrayList<>();
      for (int i = 0; i < HELD_OUT; i++) {
        rows.add(new String[] {QUESTIONS.get(QUESTIONS.size() - HELD_OUT + i), fromBase.get(i).text().strip(),
            fromAdapter.get(i).text().strip()});
      }
      HfModel.save(model, output.resolve("base"));
      PeftAdapters.save(polite, model, output.resolve("base").toString(), output.resolve("adapters/polite"));
      return new Result(base[0], base[1], adapter[0], adapter[1], lpBase, lpAdapter, rows, output,
          (System.nanoTime() - start) / 1e9);
    } finally {
      tokenizer.close();
    }
  }

  static long[] prompt(Tokenizer tokenizer, String question) {
    String text = PromptFormat.HH.render(List.of(PromptFormat.Message.user(question)), true);
    return Rollouts.join(new long[] {tokenizer.bosId().orElseThrow()}, tokenizer.encode(text));
  }

  static long[] answer(Tokenizer tokenizer, String answer, long eos) {
    return Rollouts.join(tokenizer.encode(" " + answer), new long[] {eos});
  }

  /**
   * Every row in every step, loss on answer tokens only (the SFT trainer with the whole set as the
   * batch); returns {first, last} loss.
   */
  private double[] train(CausalLm model, Adapter adapter, List<SftSample> rows, int steps, double lr,
      java.util.function.DoubleConsumer onStep) {
    SftConfig config = SftConfig.defaults(steps, lr).withBatchSize(rows.size()).withSeed(seed);
    List<Metrics> history = new SftTrainer(model, adapter, config)
        .train(rows, List.of(), m -> onStep.accept(m.get("loss"))).history();
    return new double[] {history.get(0).get("loss"), history.get(history.size() - 1).get("loss")};
  }

  private static double meanLogProb(List<float[]> perToken) {
    double sum = 0;
    int n = 0;
    for (float[] row : perToken) {
      for (float v : row) {
        sum += v;
        n++;
      }
    }
    return sum / n;
  }
}

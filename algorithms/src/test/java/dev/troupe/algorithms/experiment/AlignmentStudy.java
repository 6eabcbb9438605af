package dev.troupe.algorithms.experiment;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.algorithms.data.TokenCodec;
import dev.troupe.algorithms.dpo.DpoConfig;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.protocol.PreferencePair;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The study behind the quickstart's method settings (BENCHMARKS.md, "Alignment on every seed"), kept so
 * that each row there can be re-run. Not part of the suite: it runs only when {@code -Dstudy=NAME} is
 * given.
 *
 * <p>It makes the quickstart's setup for {@code -Dseed} once (the SFT base, the gold-labelled pairs, the
 * reward model, exactly as {@link Quickstart} does) into {@code $TMPDIR/troupe-align-study/s<seed>} and
 * reuses it, then trains one method variant on it and appends one JSON line per run to
 * {@code $TMPDIR/troupe-align-study/results.jsonl}: every {@code -Devery} steps the reward model's score
 * (overall and by kind) and the KL on 300 validation prompts, and at the end the same on all 1,000
 * validation prompts and the gold score (overall and by kind) on the 1,000 held-out test prompts.
 * Settings are chosen on the validation figures; the gold figures are reported, never used to choose.
 *
 * <p>Knobs ({@code -D}, defaults are the quickstart's): {@code method} ppo | grpo | dpo; {@code steps},
 * {@code batch} (ppo rollouts, grpo prompts, dpo pairs or online prompts), {@code lr}; ppo:
 * {@code kl}, {@code epochs}, {@code minibatches}; grpo: {@code group}, {@code beta}, {@code scale}
 * (divide advantages by the group's std), {@code iterations}; dpo: {@code beta}, {@code rpo},
 * {@code lengthNorm}, {@code loss} (sigmoid | ipo), {@code pairs} (labelled | labelled_balanced |
 * online), {@code samples}. {@code -Drm=NAME} trains a reward-model variant on the cached pairs first (knobs
 * {@code rmRank}, {@code rmMembers}, {@code rmBootstrap}, {@code rmLr}, {@code rmEpochs}), keeps it in
 * {@code s<seed>/rm-NAME} and trains the method against it ({@code -Dmethod=none}: the reward model only).
 * {@code hidden}, {@code layers} and {@code sftSteps} change the SFT base; every setup goes to
 * {@code s<seed>-h<hidden>-l<layers>-t<steps>}, so a cache made under other defaults is never read as the
 * current base. {@code policyRank} sets the method's LoRA rank (α twice that, as the quickstart's 8 and 16).
 * {@code -Doracle=true} trains the method on the gold scorer itself (times {@code oracleScale}, 3), a
 * diagnostic of what the reward model costs; validation still reads the reward model.
 * Example:
 * <pre>
 * ./mvnw -q -o test -pl algorithms -Dtest=AlignmentStudy -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dstudy=dpo-rpo -Dseed=4 -Dmethod=dpo -Drpo=1.0
 * </pre>
 */
@EnabledIfSystemProperty(named = "study", matches = ".+")
class AlignmentStudy {
  private static final Logger LOG = LoggerFactory.getLogger(AlignmentStudy.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int POINT_PROMPTS = 300;
  /** Gold scores spread about a third as wide as the normalised reward model's (std 1): scaled to match. */
  private static final double ORACLE_SCALE = Double.parseDouble(System.getProperty("oracleScale", "3"));

  private final long seed = Long.getLong("seed", 1);
  private final Quickstart.Settings settings = baseSettings(Quickstart.Settings.defaults().withSeed(seed));
  private final Path root = Path.of(System.getProperty("java.io.tmpdir"), "troupe-align-study");
  private final Path work = root.resolve("s" + seed + baseSuffix(settings));

  /**
   * The same run outside Surefire (one JVM per variant, no Maven start-up): java with the same -D knobs on
   * the algorithms module's test classpath (test-classes, classes and its dependencies).
   */
  public static void main(String[] args) throws Exception {
    new AlignmentStudy().run();
  }

  @Test
  void run() throws Exception {
    QuickstartSetup setup = new QuickstartSetup(Quickstart.setupSizes(settings));
    QuickstartTask task = setup.task();
    try (Tokenizer tokenizer = Tokenizer.load(QuickstartTask.tokenizer(work.resolve("tokenizer")));
        NDManager manager = NDManager.newBaseManager()) {
      TokenCodec codec = new TokenCodec(tokenizer);
      if (!Files.exists(work.resolve("setup.json"))) {
        prepare(setup, codec, manager);
      }
      ObjectNode cached = (ObjectNode) JSON.readTree(work.resolve("setup.json").toFile());
      try (CausalLm model = HfModel.load(work.resolve("base"), HfModel.LoadOptions.defaults(), manager)) {
        List<PreferencePair> pairs = readPairs(work.resolve("pairs.bin"));
        SamplingParams sampling = setup.sampling(codec);
        List<TaskPrompt> validation = setup.validationPrompts();
        List<TaskPrompt> heldOut = setup.heldOutPrompts();
        String rmVariant = System.getProperty("rm");
        Path rmDir = rmVariant == null ? work.resolve("rm") : work.resolve("rm-" + rmVariant);
        if (rmVariant != null && !Files.exists(rmDir.resolve("rm.json"))) {
          trainRewardModelVariant(setup, model, codec, pairs, validation, sampling, rmDir, manager);
        }
        if (rmVariant != null) {
          // The variant's own normalisation and SFT validation score replace the shipped reward model's.
          ObjectNode variant = (ObjectNode) JSON.readTree(rmDir.resolve("rm.json").toFile());
          cached.setAll(variant);
          LOG.info("RM {}: {}", rmVariant, variant);
          if (System.getProperty("method", "dpo").equals("none")) {
            return;
          }
        }
        Adapter rmAdapter = model.register(PeftAdapters.load(rmDir.resolve("adapter"), "reward-model", model));
        RewardModel rm = new RewardModel(model, rmAdapter, RewardHead.load(rmDir.resolve("head"), manager));
        RewardFunction reward = QuickstartSetup.TrainedRewardModel.normalized(rm.rewardFunction(),
            cached.get("rm_mean").asDouble(), cached.get("rm_std").asDouble());
        if (cached.path("sft_resamples").asInt() != Quickstart.EVAL_RESAMPLES) {
          putSft(cached, Quickstart.evaluateSft(model, codec, task, heldOut, sampling));
          Files.write(work.resolve("setup.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(cached));
        }
        if (!cached.has("rm_accuracy_by_kind")) {
          // Setups cached before the per-kind figure: the same held-out pairs, ranked again.
          List<PreferencePair> heldOutPairs = setup.heldOutRewardPairs(model, codec);
          boolean[] right = RewardTrainer.rankings(rm, PreferencePairs.tokenPairs(heldOutPairs), 16);
          cached.set("rm_accuracy_by_kind", JSON.valueToTree(QuickstartSetup.accuracyByKind(heldOutPairs, right)));
          cached.put("rm_accuracy_recounted", RewardTrainer.accuracy(right));
          Files.write(work.resolve("setup.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(cached));
        }
        if (!cached.has("sft_val_std_by_kind")) {
          GoldEvaluation.ProxyResult sftVal = GoldEvaluation.proxy(validation,
              GoldEvaluation.sample(model, null, codec, task, validation, sampling), reward);
          cached.set("sft_val", JSON.valueToTree(sftVal));
          // The validation score's own noise, per kind, as Quickstart.evaluateSft measures the gold score's.
          Map<String, double[]> byKind = new TreeMap<>();
          for (int r = 0; r < Quickstart.EVAL_RESAMPLES; r++) {
            int index = r;
            GoldEvaluation.proxy(validation, GoldEvaluation.sample(model, null, codec, task, validation,
                sampling.withSeed(sampling.seed() + 7919L * (r + 1))), reward).scoreByKind()
                .forEach((kind, v) -> byKind.computeIfAbsent(kind, k -> new double[Quickstart.EVAL_RESAMPLES])[index] = v);
          }
          Map<String, Double> std = new TreeMap<>();
          byKind.forEach((kind, values) -> std.put(kind, Quickstart.standardDeviation(values)));
          cached.set("sft_val_std_by_kind", JSON.valueToTree(std));
          cached.set("pair_kinds", JSON.valueToTree(kinds(pairs)));
          Files.write(work.resolve("setup.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(cached));
        }
        AlignmentRuns.Run run = variant();
        // -Doracle=true: the methods learn from the gold scorer itself (a diagnostic of what the reward model
        // costs them; validation still reads the reward model).
        RewardFunction trainReward = Boolean.getBoolean("oracle") ? goldReward(codec) : reward;
        AlignmentRuns.Context context = new AlignmentRuns.Context(model, codec, task, sampling, setup.rlPrompts(),
            trainReward, pairs, seed);
        int rank = Integer.getInteger("policyRank", Quickstart.POLICY_ADAPTER.rank());
        Adapter adapter = model.createAdapter(run.name(),
            LoraConfig.of(rank, 2 * rank, "q", "k", "v", "o", "gate", "up", "down"),
            seed + Quickstart.adapterSeedOffset(run));
        int every = Integer.getInteger("every", Math.max(1, run.steps() / 5));
        List<Map<String, Object>> points = new ArrayList<>();
        long start = System.nanoTime();
        long[] evalNanos = {0};
        Map<String, double[]> since = new TreeMap<>(); // each metric's sum and count since the last point
        run.train(context, adapter, (method, step, metrics) -> {
          metrics.asMap().forEach((name, value) -> {
            double[] sum = since.computeIfAbsent(name, k -> new double[2]);
            sum[0] += value;
            sum[1]++;
          });
          if (step % every == 0 && step < run.steps()) {
            long t0 = System.nanoTime();
            Metrics mean = new Metrics();
            since.forEach((name, sum) -> mean.put(name, sum[0] / sum[1]));
            since.clear();
            points.add(point(step, mean, GoldEvaluation.proxy(validation.subList(0, POINT_PROMPTS),
                GoldEvaluation.sample(model, adapter, codec, task, validation.subList(0, POINT_PROMPTS), sampling),
                reward)));
            evalNanos[0] += System.nanoTime() - t0;
            LOG.info("{} step {}: {}", method, step, points.get(points.size() - 1));
          }
        });
        double trainSeconds = (System.nanoTime() - start - evalNanos[0]) / 1e9;
        GoldEvaluation.ProxyResult val = GoldEvaluation.proxy(validation,
            GoldEvaluation.sample(model, adapter, codec, task, validation, sampling), reward);
        GoldEvaluation.Result test = GoldEvaluation.evaluate(model, adapter, codec, task, heldOut, sampling);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("study", System.getProperty("study"));
        out.put("seed", seed);
        out.put("rm", rmVariant);
        out.put("sft_val", cached.get("sft_val").get("score").asDouble());
        out.put("run", run.toString());
        out.put("train_seconds", trainSeconds);
        out.put("val", val);
        out.put("val_gain", val.score() - cached.get("sft_val").get("score").asDouble());
        out.put("test_gold", test.gold());
        out.put("test_gain", test.gold() - cached.get("sft_gold").asDouble());
        out.put("test_kl", test.kl());
        out.put("test_by_kind", test.goldByKind());
        out.put("points", points);
        String line = JSON.writeValueAsString(out);
        LOG.info("RESULT {}", line);
        Files.writeString(root.resolve("results.jsonl"), line + "\n", StandardOpenOption.CREATE,
            StandardOpenOption.APPEND);
        rm.close();
      }
    }
  }

  /**
   * A reward-model variant ({@code -Drm=NAME}; knobs {@code rmRank}, {@code rmMembers}, {@code rmBootstrap},
   * {@code rmLr}, {@code rmEpochs}, defaults the quickstart's) on the cached base and pairs, saved with its
   * held-out accuracy (the same pairs as the setup's, cached once), normalisation and the SFT policy's
   * validation score under it: a variant is chosen on its held-out accuracy alone.
   */
  private void trainRewardModelVariant(QuickstartSetup setup, CausalLm model, TokenCodec codec,
      List<PreferencePair> pairs, List<TaskPrompt> validation, SamplingParams sampling, Path dir, NDManager manager)
      throws Exception {
    Path heldOutFile = work.resolve("heldout-pairs.bin");
    if (!Files.exists(heldOutFile)) {
      writePairs(heldOutFile, setup.heldOutRewardPairs(model, codec));
    }
    List<PreferencePair> heldOut = readPairs(heldOutFile);
    QuickstartSetup.RewardModelRecipe d = QuickstartSetup.RewardModelRecipe.quickstart(settings.rmEpochs());
    QuickstartSetup.RewardModelRecipe recipe = new QuickstartSetup.RewardModelRecipe(
        Integer.getInteger("rmRank", d.rank()), Integer.getInteger("rmMembers", d.members()),
        Boolean.parseBoolean(System.getProperty("rmBootstrap", String.valueOf(d.bootstrap()))), dbl("rmLr", d.lr()),
        Integer.getInteger("rmEpochs", d.epochs()));
    long t0 = System.nanoTime();
    QuickstartSetup.TrainedRewardModel rm = setup.trainRewardModel(model, pairs, heldOut, recipe, manager,
        (phase, metrics) -> {});
    double seconds = (System.nanoTime() - t0) / 1e9;
    PeftAdapters.save(rm.model().adapter(), model, "quickstart-sft", dir.resolve("adapter"));
    rm.model().head().save(dir.resolve("head"));
    GoldEvaluation.ProxyResult sftVal = GoldEvaluation.proxy(validation,
        GoldEvaluation.sample(model, null, codec, setup.task(), validation, sampling), rm.normalized());
    ObjectNode record = JSON.createObjectNode();
    record.put("rm_recipe", recipe.toString()).put("rm_accuracy", rm.accuracy()).put("rm_mean", rm.mean())
        .put("rm_std", rm.std()).put("rm_seconds", seconds);
    record.set("rm_accuracy_by_kind", JSON.valueToTree(rm.accuracyByKind()));
    record.set("sft_val", JSON.valueToTree(sftVal));
    Files.write(dir.resolve("rm.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
    model.removeAdapter("reward-model");
    rm.model().close();
  }

  /** The quickstart's settings with the base from {@code -Dhidden}, {@code -Dlayers}, {@code -DsftSteps}. */
  private static Quickstart.Settings baseSettings(Quickstart.Settings d) {
    return new Quickstart.Settings(d.seed(), Integer.getInteger("hidden", d.hidden()),
        Integer.getInteger("layers", d.layers()), d.sftExamples(), d.sftErrorRate(),
        Integer.getInteger("sftSteps", d.sftSteps()), d.rmPrompts(), d.rmEpochs(), d.evalPrompts(), d.maxNewTokens(),
        d.ppo(), d.grpo(), d.dpo(), d.curves());
  }

  /** Each base in its own folder, named by everything that makes it. */
  private static String baseSuffix(Quickstart.Settings s) {
    return "-h" + s.hidden() + "-l" + s.layers() + "-t" + s.sftSteps();
  }

  /** The gold score of each response, its prompt parsed back from the prompt's text. */
  private static RewardFunction goldReward(TokenCodec codec) {
    GoldScorer gold = new GoldScorer();
    return (prompts, responses) -> {
      double[] out = new double[prompts.size()];
      for (int i = 0; i < out.length; i++) {
        TaskPrompt p = QuickstartTask.parsePrompt(codec.text(prompts.get(i)));
        out[i] = ORACLE_SCALE * gold.score(p, codec.text(responses.get(i)));
      }
      return out;
    };
  }

  private static void writePairs(Path file, List<PreferencePair> pairs) throws Exception {
    try (OutputStream out = Files.newOutputStream(file)) {
      for (PreferencePair p : pairs) {
        p.writeDelimitedTo(out);
      }
    }
  }

  private static Map<String, Object> point(int step, Metrics metrics, GoldEvaluation.ProxyResult val) {
    Map<String, Object> p = new LinkedHashMap<>();
    p.put("step", step);
    p.put("val", val.score());
    p.put("val_by_kind", val.scoreByKind());
    p.put("kl", val.kl());
    for (String name : List.of(MetricNames.LOGPS_CHOSEN, MetricNames.LOGPS_REJECTED, MetricNames.REWARDS_CHOSEN,
        MetricNames.REWARDS_REJECTED, MetricNames.REWARDS_MARGINS, MetricNames.REWARDS_ACCURACIES, MetricNames.NLL_LOSS,
        MetricNames.OBJECTIVE_KL, MetricNames.OBJECTIVE_SCORES, MetricNames.KL, MetricNames.VALUE_EXPLAINED_VARIANCE,
        MetricNames.LOSS_VALUE)) {
      if (metrics.contains(name)) {
        p.put(name, metrics.get(name));
      }
    }
    return p;
  }

  private AlignmentRuns.Run variant() {
    String method = System.getProperty("method", "dpo");
    return switch (method) {
      case "ppo" -> {
        AlignmentRuns.Ppo d = settings.ppo();
        yield new AlignmentRuns.Ppo(Integer.getInteger("steps", d.steps()), Integer.getInteger("batch", d.batch()),
            dbl("lr", d.lr()), dbl("kl", d.klCoef()), Integer.getInteger("epochs", d.epochs()),
            Integer.getInteger("minibatches", d.minibatches()), dbl("criticLr", d.criticLr()));
      }
      case "grpo" -> {
        AlignmentRuns.Grpo d = settings.grpo();
        yield new AlignmentRuns.Grpo(Integer.getInteger("steps", d.steps()), Integer.getInteger("batch", d.prompts()),
            Integer.getInteger("group", d.group()), dbl("lr", d.lr()), dbl("beta", d.beta()),
            Boolean.parseBoolean(System.getProperty("scale", String.valueOf(d.scaleByStd()))),
            Integer.getInteger("iterations", d.iterations()));
      }
      case "dpo" -> {
        AlignmentRuns.Dpo d = settings.dpo();
        DpoConfig loss = new DpoConfig(dbl("beta", d.loss().beta()),
            DpoConfig.LossType.valueOf(System.getProperty("loss", d.loss().lossType().name()).toUpperCase()), 0.0,
            dbl("rpo", d.loss().rpoAlpha()),
            Boolean.parseBoolean(System.getProperty("lengthNorm", String.valueOf(d.loss().lengthNormalized()))));
        yield new AlignmentRuns.Dpo(Integer.getInteger("steps", d.steps()), Integer.getInteger("batch", d.batch()),
            dbl("lr", d.lr()), loss,
            AlignmentRuns.PairSource.valueOf(System.getProperty("pairs", d.pairs().name()).toUpperCase()),
            Integer.getInteger("samples", d.samplesPerPrompt()));
      }
      default -> throw new IllegalArgumentException("method " + method);
    };
  }

  private static double dbl(String name, double fallback) {
    String v = System.getProperty(name);
    return v == null ? fallback : Double.parseDouble(v);
  }

  private static Map<String, Integer> kinds(List<PreferencePair> pairs) {
    Map<String, Integer> out = new TreeMap<>();
    pairs.forEach(p -> out.merge(p.getComparison().getPrompt().getKind(), 1, Integer::sum));
    return out;
  }

  /** The quickstart's setup, as {@link Quickstart#run} makes it, kept on disk. */
  private void prepare(QuickstartSetup setup, TokenCodec codec, NDManager manager) throws Exception {
    Quickstart.Progress quiet = (phase, metrics) -> {};
    long t0 = System.nanoTime();
    try (CausalLm model = setup.sft(codec, manager, quiet)) {
      SamplingParams sampling = setup.sampling(codec);
      Quickstart.SftEvaluation sft = Quickstart.evaluateSft(model, codec, setup.task(), setup.heldOutPrompts(),
          sampling);
      List<PreferencePair> pairs = setup.labelledPairs(model, codec, setup.rewardModelPrompts(), seed + 1, "rm-");
      QuickstartSetup.TrainedRewardModel rm = setup.trainRewardModel(model, codec, pairs, manager, quiet);
      HfModel.save(model, work.resolve("base"));
      PeftAdapters.save(rm.model().adapter(), model, "quickstart-sft", work.resolve("rm/adapter"));
      rm.model().head().save(work.resolve("rm/head"));
      writePairs(work.resolve("pairs.bin"), pairs);
      ObjectNode record = JSON.createObjectNode();
      putSft(record, sft);
      record.put("rm_accuracy", rm.accuracy()).put("rm_mean", rm.mean()).put("rm_std", rm.std());
      record.set("rm_accuracy_by_kind", JSON.valueToTree(rm.accuracyByKind()));
      record.put("setup_seconds", (System.nanoTime() - t0) / 1e9);
      Files.write(work.resolve("setup.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
      rm.model().close();
    }
  }

  private static void putSft(ObjectNode record, Quickstart.SftEvaluation sft) {
    record.put("sft_gold", sft.gold().gold());
    record.set("sft_gold_by_kind", JSON.valueToTree(sft.gold().goldByKind()));
    record.put("sft_gold_resampled_std", sft.resampledStd());
    record.set("sft_gold_resampled_std_by_kind", JSON.valueToTree(sft.resampledStdByKind()));
    record.put("sft_resamples", Quickstart.EVAL_RESAMPLES);
  }

  private static List<PreferencePair> readPairs(Path file) throws Exception {
    List<PreferencePair> out = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file)) {
      PreferencePair p;
      while ((p = PreferencePair.parseDelimitedFrom(in)) != null) {
        out.add(p);
      }
    }
    return out;
  }
}

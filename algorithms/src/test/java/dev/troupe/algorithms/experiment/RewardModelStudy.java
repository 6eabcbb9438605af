package dev.troupe.algorithms.experiment;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.algorithms.reward.TokenPair;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.sft.SftConfig;
import dev.troupe.algorithms.sft.SftSample;
import dev.troupe.algorithms.sft.SftTrainer;
import dev.troupe.algorithms.task.GoldScorer;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.Generation;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The study behind the quickstart's reward-model design (BENCHMARKS.md, "What got the reward model
 * from 0.65 to 0.86"), kept so that each row there can be re-run. Not part of the suite: it runs
 * only when {@code -Dlab=NAME} is given, and takes 2–5 minutes on 2 cores.
 *
 * <p>It SFTs the quickstart's policy once per (seed, size) into {@code $TMPDIR/troupe-rm-study/...}
 * and reuses it, samples two responses per prompt, keeps the pairs the perfect rater does not tie,
 * trains one reward-model variant and logs a {@code RESULT} line: held-out accuracy on the pairs of
 * 1,000 held-out prompts, per kind of prompt. Variant knobs (system properties, defaults first):
 * {@code rmPrompts} 2000, {@code epochs} 8, {@code lr} 1e-3, {@code rank} 8, {@code pooling}
 * LAST_TOKEN, {@code trainable} HEAD_AND_ADAPTER, {@code margin} false, {@code cosine} false,
 * {@code alpha0} (with {@code hasAlpha0=true}); {@code -Dlab=dpo...} trains a DPO adapter instead and
 * scores pairs by its implicit reward, and also reports the SFT model's plain log-likelihood as a
 * judge. Example:
 * <pre>
 * ./mvnw -q -o test -pl algorithms -Dtest=RewardModelStudy -Dsurefire.failIfNoSpecifiedTests=false \
 *     -Dlab=sumll16k -Dpooling=TOKEN_SUM_LIKELIHOOD -DrmPrompts=16000 -Depochs=2 -Dcosine=true -Dlr=2e-3
 * </pre>
 */
@EnabledIfSystemProperty(named = "lab", matches = ".+")
class RewardModelStudy {
  private static final Logger LOG = LoggerFactory.getLogger(RewardModelStudy.class);
  long seed = Long.getLong("seed", 1);
  int hidden = Integer.getInteger("hidden", 96);
  int layers = Integer.getInteger("layers", 3);
  int sftSteps = Integer.getInteger("sftSteps", 1500);
  int sftExamples = Integer.getInteger("sftExamples", 3000);
  QuickstartTask task = new QuickstartTask(seed);
  GoldScorer gold = new GoldScorer();

  record P(TaskPrompt prompt, long[] promptIds, long[] a, long[] b, double ga, double gb) {}

  @Test
  void run() throws Exception {
    Path work = Path.of(System.getProperty("java.io.tmpdir"), "troupe-rm-study",
        "s" + seed + "-h" + hidden + "-l" + layers + "-t" + sftSteps + (sftExamples == 3000 ? "" : "-n" + sftExamples));
    try (Tokenizer tok = Tokenizer.load(QuickstartTask.tokenizer(work.resolve("tokenizer")));
        NDManager root = NDManager.newBaseManager()) {
      long bos = tok.bosId().orElseThrow();
      long eos = tok.eosId().orElseThrow();
      Path sftDir = work.resolve("sft");
      if (!Files.exists(sftDir.resolve("model.safetensors"))) {
        ModelConfig config = ModelConfig.llama(tok.vocabSize(), hidden, layers, 4, 2, hidden * 8 / 3 / 16 * 16, 64)
            .withEos(List.of(eos));
        try (CausalLm model = CausalLm.random(config, seed, root)) {
          List<SftSample> sft = new ArrayList<>();
          for (QuickstartTask.SftExample e : task.sftSet(sftExamples, 0.4).examples()) {
            sft.add(new SftSample(Rollouts.join(new long[] {bos}, tok.encode(task.promptText(e.prompt()))),
                Rollouts.join(tok.encode(e.response()), new long[] {eos})));
          }
          long t0 = System.nanoTime();
          new SftTrainer(model, null, SftConfig.defaults(sftSteps, 3e-3).withBatchSize(32).withMaskPrompt(false)
              .withSeed(seed)).train(sft, List.of(), m -> {});
          LOG.info("SFT {} s", (System.nanoTime() - t0) / 1e9);
          HfModel.save(model, sftDir);
        }
      }
      String variant = System.getProperty("lab");
      int rmPrompts = Integer.getInteger("rmPrompts", 2000);
      int epochs = Integer.getInteger("epochs", 8);
      double lr = Double.parseDouble(System.getProperty("lr", "1e-3"));
      int rank = Integer.getInteger("rank", 8);
      int samples = Integer.getInteger("samples", 2);
      try (CausalLm model = HfModel.load(sftDir, HfModel.LoadOptions.defaults(), root)) {
        SamplingParams sampling = new SamplingParams(24, 1.0, 0, 1.0, seed, List.of(eos), List.of());
        long t0 = System.nanoTime();
        List<P> train = pairs(model, tok, bos, task.trainPrompts(rmPrompts), sampling.withSeed(seed + 1), samples);
        List<P> test = pairs(model, tok, bos, task.heldOutPrompts(1000), sampling.withSeed(seed + 2), 2);
        LOG.info("sampling {} s: {} train pairs, {} test pairs", (System.nanoTime() - t0) / 1e9, train.size(), test.size());
        {
          List<TaskPrompt> evalPrompts = task.heldOutPrompts(1000);
          List<long[]> evalIds = new ArrayList<>();
          for (TaskPrompt p : evalPrompts) {
            evalIds.add(Rollouts.join(new long[] {bos}, tok.encode(task.promptText(p))));
          }
          List<String> texts = new Generator(model, tok).generateIds(evalIds, null, sampling.withSeed(seed + 999)).stream()
              .map(Generation::text).toList();
          LOG.info("RESULT sft_gold={}", gold.mean(evalPrompts, texts));
        }
        if (variant.startsWith("dpo")) {
          dpoRm(model, train, test, epochs, lr, rank);
          return;
        }
        RewardTrainer.Trainable trainable = RewardTrainer.Trainable.valueOf(System.getProperty("trainable", "HEAD_AND_ADAPTER"));
        Adapter adapter = trainable == RewardTrainer.Trainable.HEAD_AND_ADAPTER
            ? model.createAdapter("rm", LoraConfig.of(rank, 2 * rank, "q", "k", "v", "o", "gate", "up", "down"), seed) : null;
        boolean margin = Boolean.getBoolean("margin");
        try (RewardModel rm = new RewardModel(model, adapter, RewardHead.random(hidden, 1, dev.troupe.algorithms.reward.Pooling.valueOf(System.getProperty("pooling", "LAST_TOKEN")), seed, root));
            RewardTrainer trainer = new RewardTrainer(rm, cfg(trainable, lr, epochs, rmPrompts))) {
          if (Boolean.getBoolean("hasAlpha0")) {
            rm.head().likelihoodWeight().set(new float[] {Float.parseFloat(System.getProperty("alpha0"))});
          }
          List<TokenPair> trainPairs = train.stream().map(p -> pair(p, margin)).toList();
          List<TokenPair> testPairs = test.stream().map(p -> pair(p, false)).toList();
          t0 = System.nanoTime();
          var metrics = trainer.train(trainPairs);
          LOG.info("RM train {} s, last {}", (System.nanoTime() - t0) / 1e9, metrics.get(metrics.size() - 1).asMap());
          double acc = trainer.evaluate(testPairs);
          double trainAcc = trainer.evaluate(trainPairs.subList(0, Math.min(500, trainPairs.size())));
          // per kind
          Map<String, double[]> byKind = new TreeMap<>();
          List<long[]> seqs = new ArrayList<>();
          for (P p : test) {
            seqs.add(Rollouts.join(p.promptIds, p.a));
            seqs.add(Rollouts.join(p.promptIds, p.b));
          }
          var scores = rm.score(seqs);
          for (int i = 0; i < test.size(); i++) {
            P p = test.get(i);
            boolean right = (scores.get(2 * i).mean() > scores.get(2 * i + 1).mean()) == (p.ga > p.gb);
            double[] c = byKind.computeIfAbsent(p.prompt.getClass().getSimpleName(), k -> new double[2]);
            c[0] += right ? 1 : 0;
            c[1]++;
          }
          // combine with the SFT log-likelihood: alpha fitted on train pairs
          double[] trainRm = rmDiff(rm, train.subList(0, Math.min(1000, train.size())));
          double[] trainLl = llDiff(model, train.subList(0, Math.min(1000, train.size())));
          double[] testRm = rmDiff(rm, test);
          double[] testLl = llDiff(model, test);
          double bestAlpha = 0;
          double bestAcc = -1;
          StringBuilder grid = new StringBuilder();
          for (double alpha : new double[] {0, 0.03, 0.1, 0.3, 1, 3, 10, 100}) {
            double trAcc = acc(trainRm, trainLl, alpha);
            grid.append(String.format(" a=%s tr=%.3f te=%.3f", alpha, trAcc, acc(testRm, testLl, alpha)));
            if (trAcc > bestAcc) {
              bestAcc = trAcc;
              bestAlpha = alpha;
            }
          }
          LOG.info("RESULT combined alpha={} heldout={} grid:{}", bestAlpha, acc(testRm, testLl, bestAlpha), grid);
          StringBuilder sb = new StringBuilder();
          byKind.forEach((k, c) -> sb.append(String.format(" %s %.2f (%d)", k, c[0] / c[1], (int) c[1])));
          LOG.info("RESULT pooling="+System.getProperty("pooling", "LAST_TOKEN")+" variant={} trainable={} prompts={} samples={} epochs={} lr={} rank={} margin={} pairs={} train_acc={} heldout_acc={} |{}",
              variant, trainable, rmPrompts, samples, epochs, lr, rank, margin, train.size(), trainAcc, acc, sb);
        }
      }
    }
  }

  void dpoRm(CausalLm model, List<P> train, List<P> test, int epochs, double lr, int rank) {
    Adapter adapter = model.createAdapter("dpo", LoraConfig.of(rank, 2 * rank, "q", "k", "v", "o", "gate", "up", "down"), seed);
    double beta = Double.parseDouble(System.getProperty("beta", "0.1"));
    long t0 = System.nanoTime();
    java.util.Random shuffle = new java.util.Random(seed);
    try (dev.troupe.algorithms.dpo.DpoTrainer trainer = new dev.troupe.algorithms.dpo.DpoTrainer(model, adapter,
        new dev.troupe.algorithms.dpo.DpoConfig(beta, dev.troupe.algorithms.dpo.DpoConfig.LossType.SIGMOID, 0),
        dev.troupe.algorithms.optim.OptimizerSettings.of(lr))) {
      List<P> order = new ArrayList<>(train);
      for (int e = 0; e < epochs; e++) {
        java.util.Collections.shuffle(order, shuffle);
        for (int from = 0; from + 16 <= order.size(); from += 16) {
          List<dev.troupe.protocol.PreferencePair> batch = new ArrayList<>();
          for (P p : order.subList(from, from + 16)) {
            boolean aWins = p.ga > p.gb;
            batch.add(dev.troupe.algorithms.preference.PreferencePairs.of("study-" + batch.size(), p.promptIds,
                aWins ? p.a : p.b, aWins ? p.b : p.a, dev.troupe.protocol.FeedbackSource.FEEDBACK_SOURCE_GOLD));
          }
          trainer.step(batch);
        }
      }
    }
    LOG.info("DPO-RM train {} s", (System.nanoTime() - t0) / 1e9);
    List<long[]> prompts = new ArrayList<>();
    List<long[]> responses = new ArrayList<>();
    for (P p : test) {
      prompts.add(p.promptIds); responses.add(p.a);
      prompts.add(p.promptIds); responses.add(p.b);
    }
    List<float[]> pol = dev.troupe.model.generate.LogProbs.score(model, prompts, responses, adapter, 1.0);
    List<float[]> ref = dev.troupe.model.generate.LogProbs.score(model, prompts, responses, null, 1.0);
    Map<String, double[]> byKind = new TreeMap<>();
    int right = 0;
    int refRight = 0;
    for (int i = 0; i < test.size(); i++) {
      P p = test.get(i);
      double ra = 0, rb = 0, la = 0, lb = 0;
      for (float v : pol.get(2 * i)) ra += v;
      for (float v : ref.get(2 * i)) { ra -= v; la += v; }
      for (float v : pol.get(2 * i + 1)) rb += v;
      for (float v : ref.get(2 * i + 1)) { rb -= v; lb += v; }
      boolean ok = (ra > rb) == (p.ga > p.gb);
      refRight += ((la > lb) == (p.ga > p.gb)) ? 1 : 0;
      right += ok ? 1 : 0;
      double[] c = byKind.computeIfAbsent(p.prompt.getClass().getSimpleName(), k -> new double[2]);
      c[0] += ok ? 1 : 0;
      c[1]++;
    }
    StringBuilder sb = new StringBuilder();
    byKind.forEach((k, c) -> sb.append(String.format(" %s %.2f (%d)", k, c[0] / c[1], (int) c[1])));
    LOG.info("RESULT variant={} beta={} epochs={} lr={} pairs={} heldout_acc={} sft_loglik_acc={} |{}", System.getProperty("lab"), beta, epochs, lr,
        train.size(), (double) right / test.size(), (double) refRight / test.size(), sb);
  }

  /** (chosen - rejected) differences, signed so positive = agrees with gold. */
  double[] rmDiff(RewardModel rm, List<P> ps) {
    List<long[]> seqs = new ArrayList<>();
    for (P p : ps) {
      seqs.add(Rollouts.join(p.promptIds, p.a));
      seqs.add(Rollouts.join(p.promptIds, p.b));
    }
    double[] out = new double[ps.size()];
    for (int from = 0; from < seqs.size(); from += 512) {
      var sc = rm.score(seqs.subList(from, Math.min(seqs.size(), from + 512)));
      for (int j = 0; j < sc.size(); j += 2) {
        int i = (from + j) / 2;
        out[i] = (sc.get(j).mean() - sc.get(j + 1).mean()) * (ps.get(i).ga > ps.get(i).gb ? 1 : -1);
      }
    }
    return out;
  }

  double[] llDiff(CausalLm model, List<P> ps) {
    List<long[]> prompts = new ArrayList<>();
    List<long[]> responses = new ArrayList<>();
    for (P p : ps) {
      prompts.add(p.promptIds); responses.add(p.a);
      prompts.add(p.promptIds); responses.add(p.b);
    }
    List<float[]> ref = dev.troupe.model.generate.LogProbs.score(model, prompts, responses, null, 1.0);
    double[] out = new double[ps.size()];
    for (int i = 0; i < ps.size(); i++) {
      double la = 0, lb = 0;
      for (float v : ref.get(2 * i)) la += v;
      for (float v : ref.get(2 * i + 1)) lb += v;
      out[i] = (la - lb) * (ps.get(i).ga > ps.get(i).gb ? 1 : -1);
    }
    return out;
  }

  static double acc(double[] rm, double[] ll, double alpha) {
    int right = 0;
    for (int i = 0; i < rm.length; i++) {
      right += rm[i] + alpha * ll[i] > 0 ? 1 : 0;
    }
    return (double) right / rm.length;
  }

  RewardTrainer.Config cfg(RewardTrainer.Trainable trainable, double lr, int epochs, int prompts) {
    RewardTrainer.Config c = RewardTrainer.Config.of(trainable, 16, lr).withEpochs(epochs).withSeed(seed);
    if (Boolean.getBoolean("cosine")) {
      long total = (long) epochs * prompts / 2 / 16;
      c = c.withSchedule(dev.troupe.algorithms.optim.LrSchedule.linearWarmupCosine(lr, total / 20, total, lr / 10));
    }
    return c;
  }

  TokenPair pair(P p, boolean margin) {
    boolean aWins = p.ga > p.gb;
    return new TokenPair(Rollouts.join(p.promptIds, aWins ? p.a : p.b), Rollouts.join(p.promptIds, aWins ? p.b : p.a),
        margin ? Math.abs(p.ga - p.gb) : 0);
  }

  /** samples per prompt; all non-tied pairs among them (k=2: one pair). */
  List<P> pairs(CausalLm model, Tokenizer tok, long bos, List<TaskPrompt> prompts, SamplingParams sampling, int k) {
    List<long[]> ids = new ArrayList<>();
    for (TaskPrompt p : prompts) {
      long[] prompt = Rollouts.join(new long[] {bos}, tok.encode(task.promptText(p)));
      for (int j = 0; j < k; j++) {
        ids.add(prompt);
      }
    }
    List<Generation> gens = new ArrayList<>();
    for (int from = 0; from < ids.size(); from += 1024) {
      gens.addAll(new Generator(model, tok).generateIds(ids.subList(from, Math.min(ids.size(), from + 1024)), null,
          sampling.withSeed(sampling.seed() + from)));
    }
    List<P> out = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      for (int x = 0; x < k; x++) {
        for (int y = x + 1; y < k; y++) {
          Generation a = gens.get(i * k + x);
          Generation b = gens.get(i * k + y);
          double ga = gold.score(prompts.get(i), a.text());
          double gb = gold.score(prompts.get(i), b.text());
          if (Math.abs(ga - gb) > 1e-9) {
            out.add(new P(prompts.get(i), ids.get(i * k), a.tokenIds(), b.tokenIds(), ga, gb));
          }
        }
      }
    }
    return out;
  }
}

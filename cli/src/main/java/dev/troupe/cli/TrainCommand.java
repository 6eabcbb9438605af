package dev.troupe.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.troupe.algorithms.config.TrainSettings;
import dev.troupe.algorithms.config.TrainSettings.Algorithm;
import dev.troupe.algorithms.data.BadRowPolicy;
import dev.troupe.algorithms.data.Datasets;
import dev.troupe.algorithms.data.Loaded;
import dev.troupe.algorithms.data.PreferencePair;
import dev.troupe.algorithms.dpo.DpoConfig;
import dev.troupe.algorithms.dpo.DpoTrainer;
import dev.troupe.algorithms.grpo.GrpoConfig;
import dev.troupe.algorithms.grpo.GrpoTrainer;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.ppo.PpoConfig;
import dev.troupe.algorithms.ppo.PpoTrainer;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.reward.RewardTrainer;
import dev.troupe.algorithms.reward.TokenPair;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.rollout.RolloutGenerator;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.algorithms.data.TokenCodec;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.trainer.TrainerConfigs;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.Prompt;
import dev.troupe.algorithms.sft.SftConfig;
import dev.troupe.algorithms.sft.SftSample;
import dev.troupe.algorithms.sft.SftTrainer;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.tokenizer.PromptFormat;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Single-process training of one LoRA adapter on given data, the same code the campaign runtime
 * will call: the adapter (and a reward head for rm) is written as a PEFT folder under the output.
 */
@Command(name = "train", description = "Train an adapter: sft | rm | ppo | grpo | rloo | dpo | ipo | cdpo.")
final class TrainCommand implements Callable<Integer> {
  @Parameters(index = "0", arity = "0..1", description = "algorithm (overrides troupe.train.algorithm)")
  String algorithm;

  @Option(names = "--config", required = true, description = "HOCON file with a troupe.train section")
  Path config;

  @Override
  public Integer call() throws Exception {
    TrainSettings s = TrainSettings.read(config, algorithm);
    PromptFormat format = PromptFormat.parse(s.promptFormat());
    BadRowPolicy policy = BadRowPolicy.valueOf(s.badRows().toUpperCase(Locale.ROOT));
    Files.createDirectories(s.output());
    try (NDManager root = NDManager.newBaseManager();
        Tokenizer tokenizer = Tokenizer.load(s.model().resolve("tokenizer.json"));
        CausalLm model = HfModel.load(s.model(), new HfModel.LoadOptions(DataType.FLOAT32, Quantization.parse(s.quantize())), root)) {
      TokenCodec codec = new TokenCodec(tokenizer);
      Adapter adapter = model.createAdapter(s.algorithm().name().toLowerCase(Locale.ROOT), s.adapter(), s.seed());
      switch (s.algorithm()) {
        case SFT -> sft(s, model, adapter, codec, format, policy);
        case RM -> rm(s, model, adapter, codec, format, policy, root);
        case DPO, IPO, CDPO -> dpo(s, model, adapter, codec, format, policy);
        case PPO, GRPO, RLOO -> rl(s, model, adapter, codec, format, policy, root);
      }
      PeftAdapters.save(adapter, model, s.model().toString(), s.output().resolve("adapter"));
      System.out.println("adapter written to " + s.output().resolve("adapter"));
    }
    return 0;
  }

  private static <T> List<T> report(Loaded<T> loaded, Path file) {
    if (loaded.skipped() > 0) {
      System.err.printf("%s: %d bad rows skipped (first: %s)%n", file, loaded.skipped(), loaded.problems().get(0));
    }
    if (loaded.rows().isEmpty()) {
      throw new IllegalArgumentException(file + ": no usable rows");
    }
    return loaded.rows();
  }

  private List<PreferencePair> preferences(TrainSettings s, PromptFormat format, BadRowPolicy policy) throws Exception {
    Loaded<PreferencePair> loaded = s.dataFormat().equals("hh")
        ? Datasets.hhRlhf(s.trainData(), policy) : Datasets.trlPreferences(s.trainData(), format, policy);
    return report(loaded, s.trainData());
  }

  private void sft(TrainSettings s, CausalLm model, Adapter adapter, TokenCodec codec, PromptFormat format,
      BadRowPolicy policy) throws Exception {
    List<SftSample> samples = sftSamples(s.trainData(), codec, format, policy);
    List<SftSample> eval = s.evalData() == null ? List.of() : sftSamples(s.evalData(), codec, format, policy);
    TrainSettings.Sft o = s.sft();
    SftConfig config = SftConfig.defaults(s.steps(), s.lr()).withBatchSize(s.batchSize() / s.gradientAccumulationSteps())
        .withGradientAccumulation(s.gradientAccumulationSteps()).withMaskPrompt(o.maskPrompt())
        .withEvaluation(o.evalEvery(), o.patience()).withSeed(s.seed());
    if (o.packing()) {
      config = config.withPacking(o.packLength());
    }
    SftTrainer.Result result;
    try (ProgressBar bar = new ProgressBar("sft", s.steps())) {
      result = new SftTrainer(model, adapter, config).train(samples, eval, m -> bar.step(m.contains(MetricNames.EVAL_LOSS)
          ? String.format("loss %.3f eval %.3f", m.get("loss"), m.get(MetricNames.EVAL_LOSS))
          : String.format("loss %.3f", m.get("loss"))));
    }
    if (!eval.isEmpty()) {
      System.out.printf("sft: best validation loss %.4f at step %d of %d%s; those weights are the ones written%n",
          result.bestEvalLoss(), result.bestStep(), result.steps(), result.stoppedEarly() ? " (stopped early)" : "");
    }
  }

  private static List<SftSample> sftSamples(Path file, TokenCodec codec, PromptFormat format, BadRowPolicy policy)
      throws Exception {
    List<SftSample> samples = new ArrayList<>();
    for (var e : report(Datasets.sft(file, format, policy), file)) {
      samples.add(new SftSample(codec.prompt(e.prompt()), codec.response(e.completion())));
    }
    return samples;
  }

  private void rm(TrainSettings s, CausalLm model, Adapter adapter, TokenCodec codec, PromptFormat format,
      BadRowPolicy policy, NDManager root) throws Exception {
    List<TokenPair> pairs = new ArrayList<>();
    for (PreferencePair p : preferences(s, format, policy)) {
      long[] prompt = codec.prompt(p.prompt());
      pairs.add(new TokenPair(Rollouts.join(prompt, codec.response(p.chosen())), Rollouts.join(prompt, codec.response(p.rejected())),
          s.rmMargin() ? p.strength() : 0));
    }
    int held = Math.max(1, pairs.size() / 10);
    List<TokenPair> train = pairs.subList(0, pairs.size() - held);
    List<TokenPair> eval = pairs.subList(pairs.size() - held, pairs.size());
    RewardHead head = RewardHead.random(model.config().hiddenSize(), s.rmMembers(), s.rmPooling(), s.seed(), root);
    RewardModel rm = new RewardModel(model, adapter, head);
    try (RewardTrainer trainer = new RewardTrainer(rm, RewardTrainer.Config.of(RewardTrainer.Trainable.HEAD_AND_ADAPTER,
        s.batchSize(), s.lr()).withEpochs(s.rmEpochs()).withGradientAccumulation(s.gradientAccumulationSteps())
        .withSeed(s.seed()))) {
      trainer.train(train);
      System.out.printf("reward model: held-out accuracy %.3f on %d pairs (trained on %d)%n", trainer.evaluate(eval),
          eval.size(), train.size());
    }
    head.save(s.output().resolve("head"));
  }

  private void dpo(TrainSettings s, CausalLm model, Adapter adapter, TokenCodec codec, PromptFormat format,
      BadRowPolicy policy) throws Exception {
    List<dev.troupe.protocol.PreferencePair> examples = new ArrayList<>();
    for (PreferencePair p : preferences(s, format, policy)) {
      examples.add(PreferencePairs.of(s.trainData().getFileName() + ":" + examples.size(), codec.prompt(p.prompt()),
          codec.response(p.chosen()), codec.response(p.rejected()), FeedbackSource.FEEDBACK_SOURCE_DATASET));
    }
    DpoConfig config = TrainerConfigs.dpo(name(s.algorithm()), s.dpo());
    try (DpoTrainer trainer = new DpoTrainer(model, adapter, config, optimizer(s));
        ProgressBar bar = new ProgressBar(s.algorithm().name().toLowerCase(Locale.ROOT), s.steps())) {
      for (int step = 0; step < s.steps(); step++) {
        List<dev.troupe.protocol.PreferencePair> batch = new ArrayList<>();
        for (int j = 0; j < s.batchSize(); j++) {
          batch.add(examples.get((step * s.batchSize() + j) % examples.size()));
        }
        Metrics m = trainer.step(batch);
        bar.step(String.format("loss %.3f acc %.2f", m.get("loss"), m.get("rewards/accuracies")));
      }
    }
  }

  private void rl(TrainSettings s, CausalLm model, Adapter adapter, TokenCodec codec, PromptFormat format,
      BadRowPolicy policy, NDManager root) throws Exception {
    if (s.rewardModel() == null) {
      throw new IllegalArgumentException(config + ": troupe.train.reward-model is required for " + s.algorithm()
          + " (the output folder of `troupe train rm`)");
    }
    List<Prompt> prompts = new ArrayList<>();
    for (var row : report(Datasets.prompts(s.trainData(), format, policy), s.trainData())) {
      Prompt.Builder prompt = Prompt.newBuilder().setId(s.trainData().getFileName() + ":" + prompts.size())
          .setText(row.prompt());
      for (long id : codec.prompt(row.prompt())) {
        prompt.addTokenIds(id);
      }
      prompts.add(prompt.build());
    }
    Adapter rmAdapter = model.register(PeftAdapters.load(s.rewardModel().resolve("adapter"), "reward-model", model));
    RewardModel rm = new RewardModel(model, rmAdapter, RewardHead.load(s.rewardModel().resolve("head"), root));
    RewardFunction reward = rm.rewardFunction();
    SamplingParams sampling = new SamplingParams(s.maxNewTokens(), s.temperature(), 0, 1.0, s.seed(),
        List.of(), List.of());
    // No tokenizer: training reads token ids only, and decoding every rollout would cost a call per row.
    RolloutGenerator sampler = new RolloutGenerator(model, null, "train");
    try (ProgressBar bar = new ProgressBar(s.algorithm().name().toLowerCase(Locale.ROOT), s.steps())) {
      if (s.algorithm() == Algorithm.PPO) {
        OptimizerSettings optim = optimizer(s);
        try (PpoTrainer trainer = new PpoTrainer(model, adapter, TrainerConfigs.ppo(s.ppo()), optim,
            TrainerConfigs.ppoCritic(s.ppo(), optim), s.seed())) {
          for (int i = 0; i < s.steps(); i++) {
            List<dev.troupe.protocol.Rollout> rollouts = Rollouts.scoredBy(sampler.generate(
                request(prompts, i, s.batchSize(), 1, sampling.withSeed(s.seed() + i)), adapter, i, ""), reward);
            Metrics m = trainer.learn(rollouts);
            bar.step(String.format("score %.3f kl %.3f", m.get(MetricNames.OBJECTIVE_SCORES), m.get(MetricNames.OBJECTIVE_KL)));
          }
        }
      } else {
        GrpoConfig config = TrainerConfigs.grpo(s.algorithm() == Algorithm.RLOO, s.grpo());
        try (GrpoTrainer trainer = new GrpoTrainer(model, adapter, config, optimizer(s))) {
          for (int i = 0; i < s.steps(); i++) {
            List<dev.troupe.protocol.Rollout> rollouts = Rollouts.scoredBy(sampler.generate(
                request(prompts, i, s.batchSize(), config.groupSize(), sampling.withSeed(s.seed() + i)), adapter, i, ""),
                reward);
            Metrics m = trainer.learn(rollouts);
            bar.step(String.format("score %.3f", m.get(MetricNames.OBJECTIVE_SCORES)));
          }
        }
      }
    }
  }

  /** Step {@code step}'s slice of the prompts (wrapping around), {@code perPrompt} samples each. */
  private static GenerateRequest request(List<Prompt> all, int step, int size, int perPrompt, SamplingParams sampling) {
    GenerateRequest.Builder request = GenerateRequest.newBuilder().setRequestId("step-" + step)
        .setSamplesPerPrompt(perPrompt).setSampling(RolloutGenerator.sampling(sampling));
    for (int j = 0; j < size; j++) {
      request.addPrompts(all.get((step * size + j) % all.size()));
    }
    return request.build();
  }

  private static OptimizerSettings optimizer(TrainSettings s) {
    return new OptimizerSettings(s.lr(), s.maxGradNorm(), 0.0, s.gradientAccumulationSteps(), null);
  }

  private static String name(Algorithm algorithm) {
    return algorithm.name().toLowerCase(Locale.ROOT);
  }
}

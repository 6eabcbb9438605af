package dev.troupe.actors.config;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A campaign as its file describes it (DESIGN.md, "Campaign config"): the frozen base, the reward model, the
 * prompt stream, the loops (each a feedback source times an algorithm on its own adapter), checkpoints and the
 * store, read under {@code troupe.campaign} over the defaults of reference.conf and checked strictly.
 *
 * @param loops the loops in the order the file wrote them (loops created by {@code --set} after them)
 * @param tensorThreads threads for tensor work; 0: the number of cores
 */
public record CampaignConfig(String name, long seed, BaseModel baseModel, RewardModelSource rewardModel,
    QuickstartSizes quickstart, PromptSource prompts, Map<String, LoopConfig> loops, Checkpointing checkpoint,
    StoreSettings store, int tensorThreads, UiSettings ui, FeedbackQueueSettings feedbackQueue) {

  /** A campaign with the default feedback UI and queue settings. */
  public CampaignConfig(String name, long seed, BaseModel baseModel, RewardModelSource rewardModel,
      QuickstartSizes quickstart, PromptSource prompts, Map<String, LoopConfig> loops, Checkpointing checkpoint,
      StoreSettings store, int tensorThreads) {
    this(name, seed, baseModel, rewardModel, quickstart, prompts, loops, checkpoint, store, tensorThreads,
        UiSettings.DEFAULT, FeedbackQueueSettings.DEFAULT);
  }

  /**
   * Reads {@code file} (null: the shipped quickstart campaign, resource campaigns/quickstart.conf) over the
   * defaults of reference.conf, then applies each "key=value" of {@code sets} (HOCON syntax for the value) in
   * order, a later one winning.
   *
   * @throws CampaignConfigException listing every problem found, one per line, each
   *     "file:line: key path: problem (did you mean 'x'?)", or "--set key: ..." for an override
   */
  public static CampaignConfig load(Path file, List<String> sets) {
    return CampaignReader.read(file, sets);
  }

  /** Whether the base is the built-in tiny Llama trained on the quickstart task (base-model.path = quickstart). */
  public boolean isQuickstart() {
    return CampaignReader.QUICKSTART.equals(baseModel.path());
  }

  /**
   * The resolved campaign as HOCON text under troupe.campaign (what {@code troupe config check} prints): every
   * loop with all its keys, paths absolute, and only the keys that apply (no quickstart sizes for a base of
   * one's own, no judge for a loop without one). Loading the text back gives an equal campaign.
   */
  public String render() {
    Map<String, Object> c = new LinkedHashMap<>();
    c.put("name", name);
    c.put("seed", seed);
    c.put("base-model", section("path", baseModel.path(), "dtype", baseModel.dtype(), "quantize",
        baseModel.quantize()));
    c.put("reward-model", section("path", rewardModel.path(), "normalize", rewardModel.normalize()));
    if (isQuickstart()) {
      c.put("quickstart", section("hidden", quickstart.hidden(), "layers", quickstart.layers(), "sft-examples",
          quickstart.sftExamples(), "sft-error-rate", quickstart.sftErrorRate(), "sft-steps", quickstart.sftSteps(),
          "rm-prompts", quickstart.rmPrompts(), "rm-epochs", quickstart.rmEpochs(), "eval-prompts",
          quickstart.evalPrompts(), "dataset-pairs", quickstart.datasetPairs()));
    }
    c.put("prompts", section("source", prompts.source(), "format", prompts.format()));
    Map<String, Object> loopSections = new LinkedHashMap<>();
    loops.forEach((loopName, loop) -> loopSections.put(loopName, render(loop)));
    c.put("loops", loopSections);
    c.put("checkpoint", section("every", checkpoint.every(), "keep", checkpoint.keep()));
    c.put("store", section("url", store.url(), "user", store.user(), "password-env", store.passwordEnv()));
    c.put("tensor-threads", tensorThreads);
    c.put("ui", section("enabled", ui.enabled(), "host", ui.host(), "port", ui.port()));
    c.put("feedback-queue", section("selection", feedbackQueue.selection().configName(), "overlap",
        feedbackQueue.overlap(), "gold-share", feedbackQueue.goldShare(), "gold-items", feedbackQueue.goldItems(),
        "lease", feedbackQueue.lease(), "max-open", feedbackQueue.maxOpen(), "guidelines", feedbackQueue.guidelines(),
        "responses", feedbackQueue.responses()));
    return HoconText.render(Map.of("troupe.campaign", c));
  }

  private static Map<String, Object> render(LoopConfig loop) {
    Map<String, Object> l = new LinkedHashMap<>();
    l.put("algorithm", loop.algorithm().configName());
    l.put("feedback", loop.feedback().configName());
    l.put("steps", loop.steps());
    l.put("batch-size", loop.batchSize());
    l.put("max-staleness", loop.maxStaleness());
    l.put("max-in-flight", loop.maxInFlight());
    l.put("data", loop.data() == null ? null : loop.data().toString());
    l.put("adapter", section("rank", loop.adapter().rank(), "alpha", loop.adapter().alpha(), "dropout",
        loop.adapter().dropout(), "targets", loop.adapter().targets(), "dora", loop.adapter().useDora(), "rslora",
        loop.adapter().useRsLora()));
    l.put("optim", section("lr", loop.optim().lr(), "max-grad-norm", loop.optim().maxGradNorm(),
        "gradient-accumulation-steps", loop.optim().gradientAccumulationSteps()));
    l.put("generation", section("max-new-tokens", loop.generation().maxNewTokens(), "temperature",
        loop.generation().temperature(), "top-k", loop.generation().topK(), "top-p", loop.generation().topP()));
    l.put("ppo", section("kl-coef", loop.ppo().klCoef(), "kl-target", loop.ppo().klTarget(), "kl-horizon",
        loop.ppo().klHorizon(), "epochs", loop.ppo().epochs(), "minibatches", loop.ppo().minibatches(), "critic-lr",
        loop.ppo().criticLr()));
    l.put("grpo", section("group-size", loop.grpo().groupSize(), "beta", loop.grpo().beta(), "iterations",
        loop.grpo().iterations(), "scale-rewards", loop.grpo().scaleRewards()));
    l.put("dpo", section("beta", loop.dpo().beta(), "label-smoothing", loop.dpo().labelSmoothing(), "rpo-alpha",
        loop.dpo().rpoAlpha(), "length-normalized", loop.dpo().lengthNormalized()));
    JudgeSettings judge = loop.judge();
    if (judge != null) {
      Map<String, Object> j = section("kind", judge.kind(), "rubric", judge.rubric());
      switch (judge.kind()) {
        case "simulated" -> j.put("error-rate", judge.errorRate());
        case "local" -> j.put("model", judge.model());
        default -> j.putAll(section("model", judge.model(), "url", judge.url(), "api-key-env", judge.apiKeyEnv(),
            "timeout", judge.timeout(), "retries", judge.retries(), "concurrency", judge.concurrency()));
      }
      l.put("judge", j);
    }
    l.put("eval-every", loop.evalEvery());
    return l;
  }

  /** An ordered section from alternating keys and values. */
  private static Map<String, Object> section(Object... keysAndValues) {
    Map<String, Object> s = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      s.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return s;
  }
}

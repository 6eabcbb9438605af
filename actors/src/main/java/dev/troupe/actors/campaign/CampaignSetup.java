package dev.troupe.actors.campaign;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.actors.config.CampaignConfig;
import dev.troupe.actors.config.Feedback;
import dev.troupe.actors.config.LoopConfig;
import dev.troupe.actors.config.QuickstartSizes;
import dev.troupe.actors.loop.PromptStream;
import dev.troupe.actors.loop.QuickstartGold;
import dev.troupe.actors.store.CampaignStore;
import dev.troupe.algorithms.data.BadRowPolicy;
import dev.troupe.algorithms.data.Datasets;
import dev.troupe.algorithms.data.Loaded;
import dev.troupe.algorithms.data.PromptRow;
import dev.troupe.algorithms.data.TokenCodec;
import dev.troupe.algorithms.experiment.QuickstartSetup;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.preference.PreferencePairs;
import dev.troupe.algorithms.reward.RewardHead;
import dev.troupe.algorithms.reward.RewardModel;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.tokenizer.PromptFormat;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.FeedbackSource;
import dev.troupe.protocol.PreferencePair;
import dev.troupe.protocol.Prompt;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a campaign needs before its loops start: the frozen base, the tokenizer, the reward model, the
 * prompt stream, stored pairs for dataset loops and, for the quickstart, the gold scorer. The
 * quickstart makes them (SFT, labelled pairs, reward model) and keeps them in the run folder, so a
 * resumed campaign reuses them instead of training them again.
 */
public final class CampaignSetup {
  private static final Logger LOG = LoggerFactory.getLogger(CampaignSetup.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  static final String SETUP_FILE = "setup.json";

  /**
   * @param rewardModel the campaign's reward model, or null when no loop needs one
   * @param normalize how its raw scores become what loops read (the quickstart's shift and scale)
   * @param rmAccuracy the reward model's held-out accuracy (quickstart), or null
   * @param prompts the loops' prompt stream, or null when no loop samples
   * @param gold the gold scorer (quickstart), or null
   */
  public record Resources(CausalLm model, Tokenizer tokenizer, RewardModel rewardModel,
      Normalization normalize, Double rmAccuracy, PromptStream prompts, QuickstartGold gold,
      AutoCloseable owner) implements AutoCloseable {

    /** The campaign's reward model as loops read it (normalised), or null. */
    public RewardFunction scores() {
      if (rewardModel == null) {
        return null;
      }
      RewardFunction raw = rewardModel.rewardFunction();
      return (prompts, responses) -> normalize.apply(raw.score(prompts, responses));
    }

    @Override
    public void close() throws Exception {
      owner.close();
    }
  }

  private CampaignSetup() {}

  /** Builds (or, in a run folder that has them, reloads) everything the loops need. */
  public static Resources prepare(CampaignConfig config, Path runDir, CampaignStore store, CampaignEvents events)
      throws IOException {
    NDManager root = NDManager.newBaseManager();
    try {
      return config.isQuickstart() ? quickstart(config, runDir, store, events, root) : fromFolders(config, runDir,
          store, root);
    } catch (IOException | RuntimeException e) {
      root.close();
      throw e;
    }
  }

  private static Resources quickstart(CampaignConfig config, Path runDir, CampaignStore store, CampaignEvents events,
      NDManager root) throws IOException {
    QuickstartSizes q = config.quickstart();
    QuickstartSetup setup = new QuickstartSetup(new QuickstartSetup.Sizes(config.seed(), q.hidden(), q.layers(),
        q.sftExamples(), q.sftErrorRate(), q.sftSteps(), q.rmPrompts(), q.rmEpochs(), q.evalPrompts(),
        QuickstartTask.MAX_RESPONSE_BYTES));
    Tokenizer tokenizer = Tokenizer.load(QuickstartTask.tokenizer(runDir.resolve("tokenizer")));
    TokenCodec codec = new TokenCodec(tokenizer);
    ObjectNode record = readSetup(runDir);
    Path baseDir = runDir.resolve("base");
    CausalLm model;
    if (record.path("sft").asBoolean(false) && Files.isDirectory(baseDir)) {
      model = HfModel.load(baseDir, HfModel.LoadOptions.defaults(), root);
      LOG.info("reusing the SFT base in {}", baseDir);
    } else {
      model = setup.sft(codec, root, progress(events));
      writeAtomically(baseDir, dir -> HfModel.save(model, dir));
      record.put("sft", true);
      writeSetup(runDir, record);
    }
    Path rmDir = runDir.resolve("reward-model");
    RewardModel rm;
    double mean;
    double std;
    double accuracy;
    if (record.has("rm_accuracy") && Files.isDirectory(rmDir)) {
      Adapter adapter = model.register(PeftAdapters.load(rmDir.resolve("adapter"), "reward-model", model));
      rm = new RewardModel(model, adapter, RewardHead.load(rmDir.resolve("head"), root));
      mean = record.get("rm_mean").asDouble();
      std = record.get("rm_std").asDouble();
      accuracy = record.get("rm_accuracy").asDouble();
      LOG.info("reusing the reward model in {}", rmDir);
    } else {
      events.phaseStarted("pairs", 0);
      List<PreferencePair> pairs = setup.labelledPairs(model, codec, setup.rewardModelPrompts(), config.seed() + 1,
          "rm-");
      QuickstartSetup.TrainedRewardModel trained = setup.trainRewardModel(model, codec, pairs, root, progress(events));
      rm = trained.model();
      RewardModel saved = rm;
      writeAtomically(rmDir, dir -> {
        PeftAdapters.save(saved.adapter(), model, "quickstart-sft", dir.resolve("adapter"));
        saved.head().save(dir.resolve("head"));
      });
      storeDatasetPairs(store, pairs, q.datasetPairs());
      mean = trained.mean();
      std = trained.std();
      accuracy = trained.accuracy();
      record.put("rm_mean", mean).put("rm_std", std).put("rm_accuracy", accuracy)
          .put("rm_pairs", trained.pairs()).put("rm_heldout_pairs", trained.heldOutPairs());
      writeSetup(runDir, record);
    }
    Normalization normalize = config.rewardModel().normalize() ? new Normalization(true, mean, std)
        : Normalization.NONE;
    List<TaskPrompt> train = setup.rlPrompts();
    List<Prompt> prompts = new ArrayList<>(train.size());
    for (int i = 0; i < train.size(); i++) {
      prompts.add(QuickstartSetup.prompt("quickstart/" + i, train.get(i), setup.task(), codec));
    }
    QuickstartGold gold = new QuickstartGold(setup.task(), codec, setup.heldOutPrompts(), train, setup.sampling(codec));
    RewardModel closeable = rm;
    return new Resources(model, tokenizer, rm, normalize, accuracy, new PromptStream(prompts), gold, () -> {
      closeable.close();
      model.close();
      tokenizer.close();
      root.close();
    });
  }

  /** The first {@code limit} labelled pairs, stored once as the dataset a `feedback = dataset` loop reads. */
  private static void storeDatasetPairs(CampaignStore store, List<PreferencePair> pairs, int limit) {
    if (store.countLabels(FeedbackSource.FEEDBACK_SOURCE_DATASET) > 0) {
      return;
    }
    List<PreferencePair> dataset = new ArrayList<>();
    for (PreferencePair p : pairs.subList(0, Math.min(limit, pairs.size()))) {
      dataset.add(p.toBuilder().setLabel(p.getLabel().toBuilder().setSource(FeedbackSource.FEEDBACK_SOURCE_DATASET)
          .setRaterId("quickstart-gold")).build());
    }
    store.putPairs(dataset);
  }

  private static Resources fromFolders(CampaignConfig config, Path runDir, CampaignStore store, NDManager root)
      throws IOException {
    Path baseDir = Path.of(config.baseModel().path());
    CausalLm model = HfModel.load(baseDir, new HfModel.LoadOptions(HfModel.LoadOptions.parseDtype(config.baseModel()
        .dtype()), Quantization.parse(config.baseModel().quantize())), root);
    Tokenizer tokenizer = Tokenizer.load(baseDir.resolve("tokenizer.json"));
    TokenCodec codec = new TokenCodec(tokenizer);
    RewardModel rm = null;
    boolean needsRewardModel = config.loops().values().stream().anyMatch(CampaignSetup::readsRewardModel);
    if (needsRewardModel) {
      Path rmDir = Path.of(config.rewardModel().path());
      Adapter adapter = model.register(PeftAdapters.load(rmDir.resolve("adapter"), "reward-model", model));
      rm = new RewardModel(model, adapter, RewardHead.load(rmDir.resolve("head"), root));
    }
    PromptStream prompts = null;
    if (config.loops().values().stream().anyMatch(LoopConfig::samplesPrompts)) {
      Path file = Path.of(config.prompts().source());
      Loaded<PromptRow> rows = Datasets.prompts(file, PromptFormat.parse(config.prompts().format()), BadRowPolicy.FAIL);
      List<Prompt> list = new ArrayList<>();
      for (PromptRow row : rows.rows()) {
        Prompt.Builder p = Prompt.newBuilder().setId(row.source()).setText(row.prompt());
        for (long id : codec.prompt(row.prompt())) {
          p.addTokenIds(id);
        }
        list.add(p.build());
      }
      prompts = new PromptStream(list);
    }
    for (LoopConfig loop : config.loops().values()) {
      if (loop.feedback() == Feedback.DATASET && loop.data() != null) {
        storeDatasetFile(store, loop.data(), codec, PromptFormat.parse(config.prompts().format()));
      }
    }
    RewardModel closeable = rm;
    return new Resources(model, tokenizer, rm, Normalization.NONE, null, prompts, null, () -> {
      if (closeable != null) {
        closeable.close();
      }
      model.close();
      tokenizer.close();
      root.close();
    });
  }

  /**
   * Whether a loop needs the campaign's reward model: one scored by it, or a scalar loop on another
   * source's labels, whose own reward model starts from it.
   */
  static boolean readsRewardModel(LoopConfig loop) {
    return loop.feedback() == Feedback.REWARD_MODEL || (!loop.algorithm().pairwise() && loop.feedback() != Feedback.GOLD);
  }

  /** A TRL preference file's rows as DATASET pairs (ids "<file>:<line>"), stored once. */
  private static void storeDatasetFile(CampaignStore store, Path file, TokenCodec codec, PromptFormat format)
      throws IOException {
    List<PreferencePair> pairs = new ArrayList<>();
    for (dev.troupe.algorithms.data.PreferencePair row : Datasets.trlPreferences(file, format, BadRowPolicy.FAIL).rows()) {
      PreferencePair pair = PreferencePairs.of(row.source(), codec.prompt(row.prompt()), codec.response(row.chosen()),
          codec.response(row.rejected()), FeedbackSource.FEEDBACK_SOURCE_DATASET);
      if (store.label(pair.getId()).isEmpty()) {
        pairs.add(pair);
      }
    }
    store.putPairs(pairs);
  }

  private static SetupProgress progress(CampaignEvents events) {
    return new SetupProgress(events);
  }

  /** The setup's progress, told to the campaign's watchers. */
  private record SetupProgress(CampaignEvents events)
      implements dev.troupe.algorithms.experiment.Quickstart.Progress {
    @Override
    public void step(String phase, Metrics metrics) {
      events.phaseStep(phase, metrics);
    }

    @Override
    public void phaseStarted(String phase, long plannedSteps) {
      events.phaseStarted(phase, plannedSteps);
    }
  }

  @FunctionalInterface
  private interface FolderWriter {
    void write(Path dir) throws IOException;
  }

  /** Writes into a temporary sibling folder, then renames it into place: the folder is whole or absent. */
  private static void writeAtomically(Path dir, FolderWriter writer) throws IOException {
    Path temp = dir.resolveSibling(dir.getFileName() + ".tmp");
    if (Files.exists(temp)) {
      deleteTree(temp);
    }
    writer.write(temp);
    if (Files.exists(dir)) {
      deleteTree(dir);
    }
    Files.move(temp, dir, StandardCopyOption.ATOMIC_MOVE);
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var walk = Files.walk(dir)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.delete(p);
      }
    }
  }

  private static ObjectNode readSetup(Path runDir) throws IOException {
    Path file = runDir.resolve(SETUP_FILE);
    if (!Files.isRegularFile(file)) {
      return JSON.createObjectNode();
    }
    JsonNode node = JSON.readTree(file.toFile());
    return node instanceof ObjectNode o ? o : JSON.createObjectNode();
  }

  private static void writeSetup(Path runDir, ObjectNode record) throws IOException {
    Path temp = runDir.resolve(SETUP_FILE + ".tmp");
    Files.write(temp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(record));
    Files.move(temp, runDir.resolve(SETUP_FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }
}

package dev.troupe.actors.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import dev.troupe.algorithms.config.ConfigCheck;
import dev.troupe.algorithms.config.TrainSettings;
import dev.troupe.model.lora.LoraConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads a campaign file and its {@code --set} overrides over reference.conf and checks every key and value,
 * collecting all problems before it throws (see {@link CampaignConfig#load}).
 */
final class CampaignReader {
  static final String SECTION = "troupe.campaign";
  static final String QUICKSTART = "quickstart";
  static final String QUICKSTART_RESOURCE = "campaigns/quickstart.conf";
  private static final String LOOPS = SECTION + ".loops";
  private static final String LOOP_DEFAULTS = SECTION + ".loop-defaults";
  // A loop's name becomes its adapter's name and its run sub-folder's name.
  private static final Pattern LOOP_NAME = Pattern.compile("[a-z0-9][a-z0-9_-]*");
  private static final Pattern CAMPAIGN_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
  private static final List<String> JUDGE_KINDS = List.of("simulated", "local", "openai");
  /** Judge keys and the kinds that read them; a key set for another kind would be ignored. */
  private static final Map<String, Set<String>> JUDGE_KEY_KINDS = Map.of(
      "error-rate", Set.of("simulated"),
      "model", Set.of("local", "openai"),
      "url", Set.of("openai"),
      "api-key-env", Set.of("openai"),
      "timeout", Set.of("openai"),
      "retries", Set.of("openai"),
      "concurrency", Set.of("openai"));

  private final Set<String> problems = new LinkedHashSet<>();

  private CampaignReader() {}

  static CampaignConfig read(Path file, List<String> sets) {
    return new CampaignReader().load(file, sets == null ? List.of() : sets);
  }

  private CampaignConfig load(Path file, List<String> sets) {
    Config reference = ConfigFactory.parseResources(CampaignReader.class.getClassLoader(), "reference.conf")
        .withOnlyPath(SECTION);
    Config fromFile = parseFile(file);
    List<Config> overrides = new ArrayList<>();
    for (String set : sets) {
      Config override = parseSet(set);
      if (override != null) {
        overrides.add(override);
      }
    }
    throwIfProblems();
    Config user = fromFile;
    for (Config override : overrides) {
      user = override.withFallback(user); // a later --set wins
    }
    requireSectionObjects(user);
    checkKeys(user, reference);
    Config resolved;
    try {
      resolved = user.withFallback(reference).resolve();
    } catch (ConfigException e) {
      problems.add(message(e));
      throw new CampaignConfigException(List.copyOf(problems));
    }
    String source = file != null ? file.toString() : QUICKSTART_RESOURCE;
    CampaignConfig campaign = build(source, user, resolved, loopOrder(fromFile, overrides, resolved));
    throwIfProblems();
    return campaign;
  }

  private void throwIfProblems() {
    if (!problems.isEmpty()) {
      throw new CampaignConfigException(List.copyOf(problems));
    }
  }

  private Config parseFile(Path file) {
    try {
      if (file == null) {
        return ConfigFactory.parseResources(CampaignReader.class.getClassLoader(), QUICKSTART_RESOURCE,
            ConfigParseOptions.defaults().setAllowMissing(false));
      }
      if (!Files.isRegularFile(file)) {
        problems.add(file + ": campaign file not found");
        return ConfigFactory.empty();
      }
      return ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      problems.add(message(e));
      return ConfigFactory.empty();
    }
  }

  /** "key=value", the value in HOCON syntax, as a config whose value's origin reads "--set key". */
  private Config parseSet(String set) {
    int eq = set.indexOf('=');
    if (eq <= 0) {
      problems.add("--set " + set + ": expected key=value, e.g. " + LOOPS + ".rlhf.steps=100");
      return null;
    }
    String key = set.substring(0, eq).trim();
    List<String> elements;
    try {
      elements = ConfigUtil.splitPath(key);
    } catch (ConfigException e) {
      problems.add("--set " + key + ": not a key path (" + e.getMessage() + ")");
      return null;
    }
    if (elements.size() < 2 || !elements.get(0).equals("troupe") || !elements.get(1).equals("campaign")) {
      problems.add("--set " + key + ": only keys under " + SECTION + " can be set");
      return null;
    }
    try {
      Config parsed = ConfigFactory.parseString("value = " + set.substring(eq + 1),
          ConfigParseOptions.defaults().setOriginDescription("--set " + key));
      if (parsed.root().size() != 1) { // "x=1\ny=2" would set y behind the user's back
        problems.add("--set " + key + ": expected one value, got " + parsed.root().keySet());
        return null;
      }
      return ConfigFactory.empty().withValue(key, parsed.root().get("value"));
    } catch (ConfigException e) {
      problems.add(message(e));
      return null;
    }
  }

  /** {@code troupe} and {@code troupe.campaign} must be objects, or no key under them can be read. */
  private void requireSectionObjects(Config user) {
    ConfigValue value = user.root();
    String path = "";
    for (String element : List.of("troupe", "campaign")) {
      value = ((ConfigObject) value).get(element);
      path = path.isEmpty() ? element : path + "." + element;
      if (value == null) {
        return;
      }
      if (value.valueType() != ConfigValueType.OBJECT) {
        problems.add(KeyReader.line(value.origin(), path, "expected an object, got " + KeyReader.shown(value)));
        throw new CampaignConfigException(List.copyOf(problems));
      }
    }
  }

  /** Unknown keys everywhere: outside troupe.campaign, in it, and in each loop against loop-defaults. */
  private void checkKeys(Config user, Config reference) {
    for (Map.Entry<String, ConfigValue> top : user.root().entrySet()) {
      if (top.getKey().equals("troupe")) {
        continue;
      }
      for (Map.Entry<String, ConfigValue> e : user.withOnlyPath(ConfigUtil.joinPath(top.getKey())).entrySet()) {
        String meant = "troupe." + e.getKey();
        problems.add(KeyReader.line(e.getValue().origin(), e.getKey(), "unknown key"
            + (reference.hasPathOrNull(meant) || meant.startsWith(LOOPS + ".")
                ? " (did you mean '" + meant + "'?)" : " (a campaign file sets keys under " + SECTION + ")")));
      }
    }
    for (ConfigCheck.UnknownKey unknown : ConfigCheck.findUnknownKeys(user, "troupe", reference, "troupe")) {
      problems.add(KeyReader.line(unknown.origin(), unknown.path(), "unknown key" + unknown.hint()));
    }
    if (!user.hasPath(LOOPS)) {
      return;
    }
    ConfigValue loops = user.getValue(LOOPS);
    if (loops.valueType() != ConfigValueType.OBJECT) {
      problems.add(KeyReader.line(loops.origin(), LOOPS, "expected an object keyed by loop name, got "
          + KeyReader.shown(loops)));
      return;
    }
    for (Map.Entry<String, ConfigValue> loop : ((ConfigObject) loops).entrySet()) {
      String path = loopPath(loop.getKey());
      if (!LOOP_NAME.matcher(loop.getKey()).matches()) {
        problems.add(KeyReader.line(firstWritten(loop.getValue()), path, "a loop name must match "
            + LOOP_NAME.pattern() + " (it names the loop's adapter and its run folder)"));
      }
      if (loop.getValue().valueType() != ConfigValueType.OBJECT) {
        problems.add(KeyReader.line(loop.getValue().origin(), path, "expected an object (the loop's keys), got "
            + KeyReader.shown(loop.getValue())));
        continue;
      }
      for (ConfigCheck.UnknownKey unknown : ConfigCheck.findUnknownKeys(user, path, reference, LOOP_DEFAULTS)) {
        problems.add(KeyReader.line(unknown.origin(), unknown.path(), "unknown key" + unknown.hint()));
      }
    }
  }

  /**
   * Where the user wrote something of {@code value}: an object that a --set made has an origin of Typesafe's
   * own ("withValue(...)"), its leaves have the --set's.
   */
  private static ConfigOrigin firstWritten(ConfigValue value) {
    if (value instanceof ConfigObject object && !object.isEmpty()) {
      return object.toConfig().entrySet().stream()
          .map(e -> e.getValue().origin())
          .min(Comparator.comparingInt(ConfigOrigin::lineNumber))
          .orElse(value.origin());
    }
    return value.origin();
  }

  /** Loops in the order the file wrote them, then loops that --set created, in their order. */
  private static List<String> loopOrder(Config fromFile, List<Config> overrides, Config resolved) {
    Set<String> order = new LinkedHashSet<>();
    try {
      if (fromFile.hasPath(LOOPS) && fromFile.getValue(LOOPS).valueType() == ConfigValueType.OBJECT) {
        ConfigObject loops = fromFile.getObject(LOOPS);
        loops.keySet().stream()
            .sorted(Comparator.comparingInt((String name) -> loops.get(name).origin().lineNumber())
                .thenComparing(Comparator.naturalOrder()))
            .forEach(order::add);
      }
    } catch (ConfigException e) {
      // loops written through a substitution have no line of their own: the resolved order below applies
    }
    for (Config override : overrides) {
      if (override.hasPath(LOOPS) && override.getValue(LOOPS).valueType() == ConfigValueType.OBJECT) {
        order.addAll(new TreeSet<>(override.getObject(LOOPS).keySet()));
      }
    }
    if (resolved.getValue(LOOPS).valueType() == ConfigValueType.OBJECT) {
      Set<String> present = resolved.getObject(LOOPS).keySet();
      order.retainAll(present);
      order.addAll(new TreeSet<>(present));
    } else {
      order.clear();
    }
    return List.copyOf(order);
  }

  private CampaignConfig build(String source, Config user, Config resolved, List<String> loopNames) {
    Config c = resolved.getConfig(SECTION);
    KeyReader r = new KeyReader(c, SECTION, problems);
    String name = r.string("name");
    if (name != null && !CAMPAIGN_NAME.matcher(name).matches()) {
      r.problem("name", "'" + name + "' must match " + CAMPAIGN_NAME.pattern() + " (it names the run folder)");
    }
    long seed = r.longInteger("seed", Long.MIN_VALUE);
    String basePath = location(r, "base-model.path", true, true);
    // An unreadable base-model.path is reported already; the checks that depend on it are then skipped.
    boolean quickstart = basePath == null || QUICKSTART.equals(basePath);
    BaseModel baseModel = new BaseModel(basePath, r.oneOf("base-model.dtype", List.of("fp32", "fp16")),
        r.oneOf("base-model.quantize", List.of("none", "int8", "nf4")));
    RewardModelSource rewardModel = new RewardModelSource(location(r, "reward-model.path", true, true),
        r.bool("reward-model.normalize"));
    QuickstartSizes sizes = new QuickstartSizes(r.integer("quickstart.hidden", 1), r.integer("quickstart.layers", 1),
        r.integer("quickstart.sft-examples", 1),
        r.number("quickstart.sft-error-rate", v -> v >= 0 && v <= 1, "must be in [0, 1]"),
        r.integer("quickstart.sft-steps", 1), r.integer("quickstart.rm-prompts", 1),
        r.integer("quickstart.rm-epochs", 1), r.integer("quickstart.eval-prompts", 1),
        r.integer("quickstart.dataset-pairs", 1));
    PromptSource prompts = new PromptSource(location(r, "prompts.source", false, true),
        r.oneOf("prompts.format", List.of("hh", "chatml", "plain")));
    Map<String, LoopConfig> loops = new LinkedHashMap<>();
    Config defaults = resolved.getConfig(LOOP_DEFAULTS);
    for (String loopName : loopNames) {
      ConfigValue value = resolved.getObject(LOOPS).get(loopName);
      if (value.valueType() == ConfigValueType.OBJECT) { // otherwise reported with the keys
        loops.put(loopName, loop(loopName, ((ConfigObject) value).toConfig().withFallback(defaults), user,
            quickstart));
      }
    }
    if (loopNames.isEmpty() && resolved.getValue(LOOPS).valueType() == ConfigValueType.OBJECT) {
      String message = "a campaign needs at least one loop, e.g. --set " + LOOPS + ".rlhf.algorithm=ppo";
      if (user.hasPath(LOOPS)) {
        r.problem("loops", message);
      } else { // the empty default is reference.conf's: the user's file is where a loop is missing
        problems.add(source + ": " + LOOPS + ": " + message);
      }
    }
    Checkpointing checkpoint = new Checkpointing(r.integer("checkpoint.every", 1), r.integer("checkpoint.keep", 1));
    StoreSettings store = new StoreSettings(r.nullableString("store.url"), r.nullableString("store.user"),
        r.nullableString("store.password-env"));
    int tensorThreads = r.integer("tensor-threads", 0);
    UiSettings ui = ui(r);
    FeedbackQueueSettings feedbackQueue = feedbackQueue(r);
    if (!quickstart && basePath != null) {
      beyondTheQuickstart(r, user, basePath, prompts, rewardModel, loops.values());
    }
    return new CampaignConfig(name, seed, baseModel, rewardModel, sizes, prompts,
        Collections.unmodifiableMap(loops), checkpoint, store, tensorThreads, ui, feedbackQueue);
  }

  private static UiSettings ui(KeyReader r) {
    boolean enabled = r.bool("ui.enabled");
    String host = r.string("ui.host");
    if (host != null && host.isBlank()) {
      r.problem("ui.host", "must name an address to listen on, e.g. 127.0.0.1 (loopback) or 0.0.0.0 (every interface)");
    }
    long port = r.longInteger("ui.port", 0);
    if (port > 65535) {
      r.problem("ui.port", port + " is not a TCP port: expected 0 (any free port) to 65535");
    }
    return new UiSettings(enabled, host, (int) Math.min(port, 65535));
  }

  private static FeedbackQueueSettings feedbackQueue(KeyReader r) {
    String selection = r.oneOf("feedback-queue.selection", Arrays.stream(FeedbackQueueSettings.Selection.values())
        .map(FeedbackQueueSettings.Selection::configName).toList());
    int overlap = r.integer("feedback-queue.overlap", 1);
    double goldShare = r.number("feedback-queue.gold-share", v -> v >= 0 && v <= 0.5,
        "must be in [0, 0.5] (a share of each rater's tasks)");
    int goldItems = r.integer("feedback-queue.gold-items", 0);
    Duration lease = r.duration("feedback-queue.lease");
    if (lease != null && !lease.isZero() && lease.toMillis() < 1000) {
      r.problem("feedback-queue.lease", lease + " is too short: a rater needs time to read (at least 1s)");
    }
    int maxOpen = r.integer("feedback-queue.max-open", 1);
    String guidelines = r.string("feedback-queue.guidelines");
    int responses = r.integer("feedback-queue.responses", 2);
    if (responses > FeedbackQueueSettings.MAX_RESPONSES) {
      r.problem("feedback-queue.responses", responses + " responses per task is more than a rater can rank: expected 2"
          + " (pairwise) to " + FeedbackQueueSettings.MAX_RESPONSES + " (ranking)");
    }
    return new FeedbackQueueSettings(selection == null ? FeedbackQueueSettings.Selection.DISAGREEMENT
        : FeedbackQueueSettings.Selection.parse(selection), overlap, goldShare, goldItems,
        lease == null ? FeedbackQueueSettings.DEFAULT.lease() : lease, maxOpen, guidelines == null ? "" : guidelines,
        Math.max(2, Math.min(responses, FeedbackQueueSettings.MAX_RESPONSES)));
  }

  /** With a base of the user's own, the quickstart's prompts, reward model and sizes do not apply. */
  private void beyondTheQuickstart(KeyReader r, Config user, String basePath, PromptSource prompts,
      RewardModelSource rewardModel, Collection<LoopConfig> loops) {
    String sampling = loops.stream().filter(LoopConfig::samplesPrompts).map(LoopConfig::name)
        .collect(Collectors.joining(", "));
    if (QUICKSTART.equals(prompts.source()) && !sampling.isEmpty()) {
      if (user.hasPath(SECTION + ".prompts.source")) {
        r.problem("prompts.source", "the quickstart's prompts need base-model.path = quickstart (the base is "
            + basePath + "); give a jsonl file of prompt rows");
      } else {
        r.problem("base-model.path", "a base other than the quickstart's needs prompts.source (a jsonl file of "
            + "prompt rows) for the loops that sample: " + sampling);
      }
    }
    String scored = loops.stream().filter(l -> l.feedback() == Feedback.REWARD_MODEL).map(LoopConfig::name)
        .collect(Collectors.joining(", "));
    if (QUICKSTART.equals(rewardModel.path()) && !scored.isEmpty()) {
      r.problem(user.hasPath(SECTION + ".reward-model.path") ? "reward-model.path" : "base-model.path",
          "the quickstart's reward model is trained on the quickstart's base only (the base is " + basePath
              + "); set reward-model.path to the output of `troupe train rm` for the loops with feedback = "
              + "reward-model: " + scored);
    }
    for (String key : KeyReader.keysUnder(user, SECTION + ".quickstart")) {
      r.problem("quickstart." + key, "applies only when base-model.path = quickstart (the base is " + basePath + ")");
    }
  }

  private LoopConfig loop(String name, Config scope, Config user, boolean quickstart) {
    String path = loopPath(name);
    KeyReader r = new KeyReader(scope, path, problems);
    Algorithm algorithm = named(r, "algorithm", Algorithm.values(), Algorithm::configName);
    Feedback feedback = named(r, "feedback", Feedback.values(), Feedback::configName);
    int steps = r.integer("steps", 1);
    int batchSize = r.integer("batch-size", 1);
    int maxStaleness = r.integer("max-staleness", 0);
    int maxInFlight = r.integer("max-in-flight", 1);
    String dataPath = r.isNull("data") ? null : location(r, "data", false, false);
    Path data = dataPath == null ? null : Path.of(dataPath);
    LoraConfig adapter = adapter(r);
    Optim optim = new Optim(r.number("optim.lr", v -> v > 0, "must be > 0"),
        r.number("optim.max-grad-norm", v -> v > 0, "must be > 0"),
        r.integer("optim.gradient-accumulation-steps", 1));
    Generation generation = new Generation(r.integer("generation.max-new-tokens", 1),
        r.number("generation.temperature", v -> v >= 0, "must be >= 0 (0 is greedy)"),
        r.integer("generation.top-k", 0),
        r.number("generation.top-p", v -> v > 0 && v <= 1, "must be in (0, 1]"));
    TrainSettings.Ppo ppo = new TrainSettings.Ppo(r.number("ppo.kl-coef", v -> v >= 0, "must be >= 0"),
        r.nullableNumber("ppo.kl-target", v -> v > 0, "must be > 0 nats (or null for a fixed kl-coef)"),
        r.longInteger("ppo.kl-horizon", 1), r.integer("ppo.epochs", 1), r.integer("ppo.minibatches", 1),
        r.nullableNumber("ppo.critic-lr", v -> v > 0, "must be > 0 (or null for optim.lr)"));
    TrainSettings.Grpo grpo = new TrainSettings.Grpo(r.integer("grpo.group-size", 2),
        r.number("grpo.beta", v -> v >= 0, "must be >= 0"), r.integer("grpo.iterations", 1),
        r.bool("grpo.scale-rewards"));
    TrainSettings.Dpo dpo = new TrainSettings.Dpo(r.number("dpo.beta", v -> v > 0, "must be > 0"),
        r.number("dpo.label-smoothing", v -> v >= 0 && v < 0.5, "must be in [0, 0.5)"),
        r.number("dpo.rpo-alpha", v -> v >= 0, "must be >= 0 (0: no likelihood term)"), r.bool("dpo.length-normalized"));
    JudgeSettings judge = feedback == Feedback.AI_JUDGE ? judge(r, path, user, quickstart) : null;
    int evalEvery = r.integer("eval-every", 0);

    if (algorithm != null) {
      if (dpo.labelSmoothing() != 0 && algorithm != Algorithm.CDPO) {
        r.problem("dpo.label-smoothing", dpo.labelSmoothing() + " applies to cdpo only (the algorithm is "
            + algorithm.configName() + ")");
      }
      int accumulation = optim.gradientAccumulationSteps();
      if (accumulation > 1 && !algorithm.pairwise()) {
        r.problem("optim.gradient-accumulation-steps", "applies to dpo, ipo and cdpo; " + algorithm.configName()
            + " takes one optimizer step per minibatch of rollouts (set it to 1, or lower batch-size)");
      } else if (batchSize % accumulation != 0) {
        r.problem("optim.gradient-accumulation-steps", accumulation + " must divide batch-size = " + batchSize
            + " (each micro-batch holds batch-size / gradient-accumulation-steps pairs)");
      }
    }
    if (feedback != null) {
      if (feedback != Feedback.AI_JUDGE) {
        for (String key : KeyReader.keysUnder(user, path + ".judge")) {
          r.problem("judge." + key, "applies to feedback = ai-judge only (this loop's feedback is "
              + feedback.configName() + ")");
        }
      }
      if (feedback != Feedback.DATASET && user.hasPath(path + ".data")) {
        r.problem("data", "applies to feedback = dataset only (this loop's feedback is " + feedback.configName() + ")");
      }
      if (feedback == Feedback.DATASET && data == null && !quickstart) {
        r.problem("feedback", "dataset needs data (a TRL or HH jsonl file of preference rows): only the "
            + "quickstart has built-in pairs");
      }
      if (feedback == Feedback.GOLD && !quickstart) {
        r.problem("feedback", "gold is the quickstart's hidden scorer: it needs base-model.path = quickstart");
      }
    }
    return new LoopConfig(name, algorithm, feedback, steps, batchSize, maxStaleness, maxInFlight, data, adapter,
        optim, generation, ppo, grpo, dpo, judge, evalEvery);
  }

  private LoraConfig adapter(KeyReader r) {
    int rank = r.integer("adapter.rank", 1);
    double alpha = r.number("adapter.alpha", v -> v > 0, "must be > 0");
    double dropout = r.number("adapter.dropout", v -> v >= 0 && v < 1, "must be in [0, 1)");
    List<String> targets = r.stringList("adapter.targets");
    boolean dora = r.bool("adapter.dora");
    boolean rslora = r.bool("adapter.rslora");
    if (targets == null) {
      targets = List.of("q"); // already reported
    } else if (targets.isEmpty()) {
      r.problem("adapter.targets", "must name at least one module, e.g. [q, k, v, o]");
      targets = List.of("q");
    }
    try { // the placeholders of bad values keep the constructor from throwing a second time for them
      return new LoraConfig(rank, alpha > 0 ? alpha : 1, dropout >= 0 && dropout < 1 ? dropout : 0, targets,
          rslora, dora);
    } catch (IllegalArgumentException e) {
      r.problem("adapter", e.getMessage());
      return null;
    }
  }

  private JudgeSettings judge(KeyReader r, String path, Config user, boolean quickstart) {
    String kind = r.oneOf("judge.kind", JUDGE_KINDS);
    String rubric = r.string("judge.rubric");
    if (rubric != null && rubric.isBlank()) {
      r.problem("judge.rubric", "must not be empty: the judge applies it and every AI label stores its hash");
    }
    double errorRate = r.number("judge.error-rate", v -> v >= 0 && v <= 0.5,
        "must be in [0, 0.5] (0.5: a coin toss; more would be a judge that prefers the worse response)");
    String model = r.nullableString("judge.model");
    String url = r.nullableString("judge.url");
    String apiKeyEnv = r.nullableString("judge.api-key-env");
    Duration timeout = r.duration("judge.timeout");
    int retries = r.integer("judge.retries", 0);
    int concurrency = r.integer("judge.concurrency", 1);
    if (kind == null) {
      return new JudgeSettings(null, rubric, errorRate, model, url, apiKeyEnv, timeout, retries, concurrency);
    }
    for (String key : KeyReader.keysUnder(user, path + ".judge")) {
      Set<String> kinds = JUDGE_KEY_KINDS.get(key);
      if (kinds != null && !kinds.contains(kind)) {
        r.problem("judge." + key, "applies to " + String.join(" and ", new TreeSet<>(kinds))
            + " judges only (this judge is " + kind + ")");
      }
    }
    switch (kind) {
      case "simulated" -> {
        if (!quickstart) {
          r.problem("judge.kind", "simulated judges with the quickstart's gold scorer: it needs base-model.path"
              + " = quickstart");
        }
      }
      case "local" -> {
        if (model == null) {
          r.problem("judge.model", "judge.kind", "a local judge needs model (a Hugging Face folder with tokenizer.json)");
        } else {
          model = location(r, "judge.model", true, false);
        }
      }
      default -> {
        if (model == null) {
          r.problem("judge.model", "judge.kind", "an openai judge needs model (the name the server knows it by)");
        }
        if (url == null) {
          r.problem("judge.url", "judge.kind", "an openai judge needs url (the server's base URL, e.g. http://127.0.0.1:8000)");
        } else if (!isHttpUrl(url)) {
          r.problem("judge.url", "'" + url + "' is not an http(s) URL");
        }
      }
    }
    return new JudgeSettings(kind, rubric, errorRate, model, url, apiKeyEnv, timeout, retries, concurrency);
  }

  private static boolean isHttpUrl(String url) {
    try {
      URI uri = URI.create(url);
      return ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /**
   * A file or folder named at {@code key}, made absolute: relative to the campaign file that wrote it (as
   * {@code troupe train} does), or to the working directory for a --set; "quickstart" where allowed stays.
   */
  private String location(KeyReader r, String key, boolean folder, boolean quickstartAllowed) {
    String value = r.string(key);
    if (value == null || (quickstartAllowed && QUICKSTART.equals(value))) {
      return value;
    }
    ConfigOrigin origin = r.origin(key);
    Path base = origin != null && origin.filename() != null && origin.resource() == null
        ? Path.of(origin.filename()).toAbsolutePath().getParent() : Path.of("").toAbsolutePath();
    Path resolved = base.resolve(value).normalize();
    if (folder ? !Files.isDirectory(resolved) : !Files.isRegularFile(resolved)) {
      r.problem(key, "no such " + (folder ? "folder" : "file") + ": " + resolved
          + (quickstartAllowed ? " (or quickstart, the built-in one)" : ""));
    }
    return resolved.toString();
  }

  /** The enum constant whose config name is at {@code key}, or null after recording the valid ones. */
  private static <E extends Enum<E>> E named(KeyReader r, String key, E[] values,
      Function<E, String> configName) {
    String value = r.oneOf(key, Arrays.stream(values).map(configName).toList());
    return value == null ? null
        : Arrays.stream(values).filter(v -> configName.apply(v).equals(value)).findFirst().orElseThrow();
  }

  static String loopPath(String name) {
    return ConfigUtil.joinPath("troupe", "campaign", "loops", name);
  }

  /** A parse error as "file:line: what", without Typesafe's repeated origin description. */
  private static String message(ConfigException e) {
    String text = e.getMessage();
    ConfigOrigin origin = e.origin();
    if (origin == null) {
      return text;
    }
    String prefix = origin.description() + ": ";
    return ConfigCheck.where(origin) + (text.startsWith(prefix) ? text.substring(prefix.length()) : text);
  }
}

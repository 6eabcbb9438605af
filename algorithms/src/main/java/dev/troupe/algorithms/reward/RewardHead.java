package dev.troupe.algorithms.reward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.autograd.Ops;
import dev.troupe.model.safetensors.SafeTensors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The reward model's score layer: a bias-free linear map from a final hidden state to one scalar
 * per ensemble member ([hidden] -> [K]), in fp32 and in a manager of its own.
 *
 * <p>Like {@code score} of Hugging Face's {@code LlamaForSequenceClassification} (whose weight has
 * the same name and layout, [num_labels, hidden], so a head trained here loads there and back), it
 * has no bias: the Bradley–Terry loss depends only on differences of rewards, so a bias would get
 * an exactly zero gradient.
 */
public final class RewardHead implements AutoCloseable {
  public static final String CONFIG_FILE = "reward_head.json";
  public static final String WEIGHTS_FILE = "reward_head.safetensors";
  static final String WEIGHT_NAME = "score.weight";
  static final String LIKELIHOOD_WEIGHT_NAME = "likelihood.weight";
  private static final String FORMAT = "troupe-reward-head";
  private static final ObjectMapper JSON = new ObjectMapper();


  private final NDManager manager;
  private final NDArray weight; // [K, hidden]
  private final Pooling pooling;
  private final NDArray likelihoodWeight; // [K], only for TOKEN_SUM_LIKELIHOOD

  private RewardHead(NDManager manager, NDArray weight, Pooling pooling, NDArray likelihoodWeight) {
    this.manager = manager;
    this.weight = weight;
    this.pooling = pooling;
    this.likelihoodWeight = likelihoodWeight;
  }

  /**
   * A fresh head of {@code members} rows with N(0, 1/hidden) entries (LeCun's scale: about unit
   * rewards from the unit-RMS states of a final RMSNorm), reproducible from {@code seed}.
   *
   * <p>Not HF's N(0, 0.02²): an ensemble's members disagree off the training distribution only
   * in so far as they started apart (deep ensembles, Lakshminarayanan et al. 2017). Measured on the
   * tiny test Llama trained with the centring term: with 0.02 the members' spread on unseen bytes
   * was below that on training inputs (one seed), with 1/√hidden it was 1.8 to 5.7 times larger
   * (6 seeds).
   */
  public static RewardHead random(int hiddenSize, int members, long seed, NDManager parent) {
    return random(hiddenSize, members, 1 / Math.sqrt(hiddenSize), seed, parent);
  }

  /** A fresh head with N(0, initStd²) entries, reproducible from {@code seed}, read at the last token. */
  public static RewardHead random(int hiddenSize, int members, double initStd, long seed, NDManager parent) {
    return random(hiddenSize, members, initStd, Pooling.LAST_TOKEN, seed, parent);
  }

  /**
   * A fresh head of {@code members} rows with N(0, 1/hidden) entries pooled as {@code pooling}; a
   * likelihood weight, where the pooling has one, starts at 1 (the trunk's log-likelihood as it is) and is learned.
   */
  public static RewardHead random(int hiddenSize, int members, Pooling pooling, long seed, NDManager parent) {
    return random(hiddenSize, members, 1 / Math.sqrt(hiddenSize), pooling, seed, parent);
  }

  private static RewardHead random(int hiddenSize, int members, double initStd, Pooling pooling, long seed,
      NDManager parent) {
    if (hiddenSize < 1 || members < 1) {
      throw new IllegalArgumentException("a head needs hiddenSize >= 1 and members >= 1, got "
          + hiddenSize + ", " + members);
    }
    if (!(initStd >= 0)) {
      throw new IllegalArgumentException("initStd must be >= 0, got " + initStd);
    }
    Random random = new Random(seed);
    float[] values = new float[Math.multiplyExact(hiddenSize, members)];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) (random.nextGaussian() * initStd);
    }
    NDManager manager = parent.newSubManager();
    manager.setName("reward-head");
    NDArray likelihood = pooling == Pooling.TOKEN_SUM_LIKELIHOOD ? manager.ones(new Shape(members)) : null;
    return new RewardHead(manager, manager.create(values, new Shape(members, hiddenSize)), pooling, likelihood);
  }

  /** An independent copy (weights duplicated into a manager under {@code parent}): training one leaves the other. */
  public RewardHead copy(NDManager parent) {
    NDManager copyManager = parent.newSubManager();
    copyManager.setName("reward-head");
    NDArray w = weight.duplicate();
    w.attach(copyManager);
    NDArray likelihood = null;
    if (likelihoodWeight != null) {
      likelihood = likelihoodWeight.duplicate();
      likelihood.attach(copyManager);
    }
    return new RewardHead(copyManager, w, pooling, likelihood);
  }

  /** Rewards [.., K] for hidden states [.., hidden]; the result belongs to the hidden states' manager. */
  public NDArray apply(NDArray hidden) {
    if (hidden.getShape().get(hidden.getShape().dimension() - 1) != hiddenSize()) {
      throw new IllegalArgumentException("hidden states " + hidden.getShape()
          + " do not end in this head's hidden size " + hiddenSize());
    }
    return Ops.linear(hidden.toType(DataType.FLOAT32, false), weight, null);
  }

  /** Ensemble members K (1 for a plain reward model). */
  public int members() {
    return Math.toIntExact(weight.getShape().get(0));
  }

  public int hiddenSize() {
    return Math.toIntExact(weight.getShape().get(1));
  }

  /** Where the reward model reads its reward. */
  public Pooling pooling() {
    return pooling;
  }

  /** α per member [K], the weight of the log-likelihood in {@link Pooling#TOKEN_SUM_LIKELIHOOD}. */
  public NDArray likelihoodWeight() {
    if (likelihoodWeight == null) {
      throw new IllegalStateException("a " + pooling.key() + " head has no likelihood weight");
    }
    return likelihoodWeight;
  }

  /** The trainable tensors: the weight [K, hidden], and the likelihood weight [K] where there is one. */
  public List<NDArray> parameters() {
    return likelihoodWeight == null ? List.of(weight) : List.of(weight, likelihoodWeight);
  }

  public void setTrainable(boolean trainable) {
    parameters().forEach(p -> p.setRequiresGradient(trainable));
  }

  /** The manager owning the weight (for memory accounting). */
  public NDManager manager() {
    return manager;
  }

  /**
   * Writes {@value #CONFIG_FILE} (hidden size, members, pooling) and {@value #WEIGHTS_FILE} (the
   * weight as {@code score.weight}, and {@code likelihood.weight} where the pooling has one, fp32)
   * into {@code dir}, creating it if needed.
   */
  public void save(Path dir) throws IOException {
    Files.createDirectories(dir);
    Map<String, NDArray> tensors = likelihoodWeight == null
        ? Map.of(WEIGHT_NAME, weight)
        : Map.of(WEIGHT_NAME, weight, LIKELIHOOD_WEIGHT_NAME, likelihoodWeight);
    SafeTensors.write(dir.resolve(WEIGHTS_FILE), tensors, Map.of("format", "pt"));
    ObjectNode config = JSON.createObjectNode();
    config.put("format", FORMAT);
    config.put("hidden_size", hiddenSize());
    config.put("num_members", members());
    config.put("pooling", pooling.key());
    JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(CONFIG_FILE).toFile(), config);
  }

  /** Reads a head {@link #save} wrote, into a new sub-manager of {@code parent}; errors name the file. */
  public static RewardHead load(Path dir, NDManager parent) throws IOException {
    Path configFile = dir.resolve(CONFIG_FILE);
    if (!Files.isRegularFile(configFile)) {
      throw new ModelFormatException(configFile, "reward head config not found");
    }
    JsonNode config;
    try {
      config = JSON.readTree(configFile.toFile());
    } catch (IOException e) {
      throw new ModelFormatException(configFile, "not valid JSON: " + e.getMessage(), e);
    }
    if (!FORMAT.equals(config.path("format").asText())) {
      throw new ModelFormatException(configFile, "field 'format' must be '" + FORMAT + "'");
    }
    JsonNode hidden = config.path("hidden_size");
    JsonNode members = config.path("num_members");
    if (!hidden.isIntegralNumber() || !members.isIntegralNumber() || hidden.asInt() < 1 || members.asInt() < 1) {
      throw new ModelFormatException(configFile, "'hidden_size' and 'num_members' must be positive integers");
    }
    Pooling pooling;
    try {
      pooling = Pooling.parse(config.path("pooling").asText(Pooling.LAST_TOKEN.key()));
    } catch (IllegalArgumentException e) {
      throw new ModelFormatException(configFile, "field 'pooling': " + e.getMessage(), e);
    }
    Shape expected = new Shape(members.asInt(), hidden.asInt());
    Path weightsFile = dir.resolve(WEIGHTS_FILE);
    if (!Files.isRegularFile(weightsFile)) {
      throw new ModelFormatException(weightsFile, "reward head weights not found");
    }
    NDManager manager = parent.newSubManager();
    manager.setName("reward-head");
    try {
      Map<String, NDArray> tensors = SafeTensors.read(weightsFile, manager, DataType.FLOAT32);
      NDArray weight = tensors.get(WEIGHT_NAME);
      NDArray likelihood = tensors.get(LIKELIHOOD_WEIGHT_NAME);
      boolean wantsLikelihood = pooling == Pooling.TOKEN_SUM_LIKELIHOOD;
      if (weight == null || (likelihood != null) != wantsLikelihood || tensors.size() != (wantsLikelihood ? 2 : 1)) {
        throw new ModelFormatException(weightsFile, "a " + pooling.key() + " head holds exactly '" + WEIGHT_NAME
            + (wantsLikelihood ? "' and '" + LIKELIHOOD_WEIGHT_NAME : "") + "', found " + tensors.keySet());
      }
      if (!weight.getShape().equals(expected)) {
        throw new ModelFormatException(weightsFile, WEIGHT_NAME + " has shape " + weight.getShape()
            + ", but " + CONFIG_FILE + " says " + expected);
      }
      if (likelihood != null && !likelihood.getShape().equals(new Shape(members.asInt()))) {
        throw new ModelFormatException(weightsFile, LIKELIHOOD_WEIGHT_NAME + " has shape " + likelihood.getShape()
            + ", but " + CONFIG_FILE + " says " + members.asInt() + " members");
      }
      return new RewardHead(manager, weight, pooling, likelihood);
    } catch (IOException | RuntimeException e) {
      manager.close();
      throw e;
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}

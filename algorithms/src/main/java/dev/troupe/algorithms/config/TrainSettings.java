package dev.troupe.algorithms.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.troupe.algorithms.reward.Pooling;
import dev.troupe.model.lora.LoraConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;

/** A single-process training run read from a HOCON file under {@code troupe.train}, checked strictly. */
public record TrainSettings(Algorithm algorithm, Path model, String quantize, Path output, long seed, int steps,
    int batchSize, String promptFormat, LoraConfig adapter, double lr, double maxGradNorm,
    int gradientAccumulationSteps, Path trainData, Path evalData, String dataFormat, String badRows,
    Dpo dpo, int rmEpochs, Pooling rmPooling, boolean rmMargin, int rmMembers,
    Path rewardModel, int maxNewTokens, double temperature, Sft sft, Ppo ppo, Grpo grpo) {

  /** {@code sft { ... }}: what the loss counts, packing, and validation on {@code data.eval} with early stopping. */
  public record Sft(boolean maskPrompt, boolean packing, int packLength, int evalEvery, int patience) {}

  /**
   * {@code ppo { ... }}: β fixed at klCoef, or adapted toward klTarget nats over klHorizon sequences when it is
   * set; the value head's learning rate, or null for the policy's {@code optim.lr}.
   */
  public record Ppo(double klCoef, Double klTarget, long klHorizon, int epochs, int minibatches, Double criticLr) {}

  /** {@code grpo { ... }} (also rloo): group size, KL weight, passes per batch, GRPO's division by the group's std. */
  public record Grpo(int groupSize, double beta, int iterations, boolean scaleRewards) {}

  /**
   * {@code dpo { ... }} (also ipo, cdpo): β, cDPO's label smoothing, RPO's weight on the chosen
   * response's negative log-likelihood, and whether log-ratios are per-token means.
   */
  public record Dpo(double beta, double labelSmoothing, double rpoAlpha, boolean lengthNormalized) {}

  /** The algorithms `troupe train` runs. */
  public enum Algorithm {
    SFT, RM, PPO, GRPO, RLOO, DPO, IPO, CDPO;

    public static Algorithm parse(String name, String where) {
      try {
        return valueOf(name.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + "unknown algorithm '" + name
            + "' (expected one of: sft, rm, ppo, grpo, rloo, dpo, ipo, cdpo)");
      }
    }
  }

  static final String SECTION = "troupe.train";

  /** Reads {@code file}; {@code algorithmOverride} (from the command line) wins over the file's. */
  public static TrainSettings read(Path file, String algorithmOverride) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(file + ": config file not found");
    }
    Config user;
    try {
      user = ConfigFactory.parseFile(file.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    } catch (ConfigException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    Config reference = ConfigFactory.parseResources(TrainSettings.class.getClassLoader(), "reference.conf");
    ConfigCheck.requireKnownKeys(user, reference, SECTION);
    Config c = user.withFallback(reference).resolve().getConfig(SECTION);
    try {
      String algo = algorithmOverride != null ? algorithmOverride : c.getIsNull("algorithm") ? null : c.getString("algorithm");
      if (algo == null) {
        throw new IllegalArgumentException(file + ": no algorithm (give it on the command line or as troupe.train.algorithm)");
      }
      String where = algorithmOverride != null ? "" : ConfigCheck.where(c.getValue("algorithm").origin());
      Algorithm algorithm = Algorithm.parse(algo, where);
      LoraConfig adapter = new LoraConfig(c.getInt("adapter.rank"), c.getDouble("adapter.alpha"),
          c.getDouble("adapter.dropout"), c.getStringList("adapter.targets"), c.getBoolean("adapter.rslora"),
          c.getBoolean("adapter.dora"));
      Path base = file.toAbsolutePath().getParent();
      Path evalData = c.getIsNull("data.eval") ? null : path(c, "data.eval", base, file);
      Sft sft = new Sft(c.getBoolean("sft.mask-prompt"), c.getBoolean("sft.packing"), positive(c, "sft.pack-length", file),
          nonNegative(c, "sft.eval-every"), positive(c, "sft.patience", file));
      if (evalData == null && sft.evalEvery() > 0) {
        throw new IllegalArgumentException(ConfigCheck.where(c.getValue("sft.eval-every").origin()) + SECTION
            + ".sft.eval-every = " + sft.evalEvery() + " needs " + SECTION + ".data.eval (a file to validate on)");
      }
      Ppo ppo = new Ppo(c.getDouble("ppo.kl-coef"), c.getIsNull("ppo.kl-target") ? null : c.getDouble("ppo.kl-target"),
          positive(c, "ppo.kl-horizon", file), positive(c, "ppo.epochs", file), positive(c, "ppo.minibatches", file),
          c.getIsNull("ppo.critic-lr") ? null : positiveNumber(c, "ppo.critic-lr"));
      Grpo grpo = new Grpo(positive(c, "grpo.group-size", file), c.getDouble("grpo.beta"),
          positive(c, "grpo.iterations", file), c.getBoolean("grpo.scale-rewards"));
      return new TrainSettings(algorithm, path(c, "model", base, file), c.getString("quantize"),
          base.resolve(c.getString("output")), c.getLong("seed"), positive(c, "steps", file),
          positive(c, "batch-size", file), c.getString("prompt-format"), adapter, c.getDouble("optim.lr"),
          c.getDouble("optim.max-grad-norm"), accumulation(c, algorithm), path(c, "data.train", base, file), evalData,
          dataFormat(c, algorithm), oneOf(c, "data.bad-rows", List.of("fail", "skip")),
          new Dpo(c.getDouble("dpo.beta"), labelSmoothing(c, algorithm), c.getDouble("dpo.rpo-alpha"),
              c.getBoolean("dpo.length-normalized")), positive(c, "rm.epochs", file), pooling(c, "rm.pooling"),
          c.getBoolean("rm.margin"), positive(c, "rm.members", file),
          c.getIsNull("reward-model") ? null : base.resolve(c.getString("reward-model")),
          positive(c, "generation.max-new-tokens", file), c.getDouble("generation.temperature"), sft, ppo, grpo);
    } catch (ConfigException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  private static Path path(Config c, String key, Path base, Path file) {
    if (c.getIsNull(key)) {
      throw new IllegalArgumentException(file + ": " + SECTION + "." + key + " is required");
    }
    return base.resolve(c.getString(key));
  }

  /** Micro-batches per optimizer step: sft, rm and the DPO family; PPO and GRPO update per minibatch instead. */
  private static int accumulation(Config c, Algorithm algorithm) {
    String key = "optim.gradient-accumulation-steps";
    int steps = c.getInt(key);
    if (steps < 1) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key
          + " must be positive, got " + steps);
    }
    if (steps > 1 && EnumSet.of(Algorithm.PPO, Algorithm.GRPO, Algorithm.RLOO).contains(algorithm)) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key
          + " applies to sft, rm, dpo, ipo and cdpo; " + name(algorithm) + " takes one optimizer step per minibatch of"
          + " rollouts (set it to 1, or lower batch-size)");
    }
    if (c.getInt("batch-size") % steps != 0) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key + " = "
          + steps + " must divide " + SECTION + ".batch-size = " + c.getInt("batch-size")
          + " (each micro-batch holds batch-size / gradient-accumulation-steps examples)");
    }
    return steps;
  }

  /** {@code trl} or {@code hh}; {@code hh} only for preference data, where it picks the reader. */
  private static String dataFormat(Config c, Algorithm algorithm) {
    String format = oneOf(c, "data.format", List.of("trl", "hh"));
    if (format.equals("hh") && !EnumSet.of(Algorithm.RM, Algorithm.DPO, Algorithm.IPO, Algorithm.CDPO).contains(algorithm)) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue("data.format").origin()) + SECTION
          + ".data.format = hh reads preference pairs (rm, dpo, ipo, cdpo); " + name(algorithm) + " reads "
          + (algorithm == Algorithm.SFT ? "prompt/completion or messages rows" : "prompt rows") + ": leave it at trl");
    }
    return format;
  }

  /** cDPO's ε: set for another loss it would do nothing, which a user should hear about. */
  private static double labelSmoothing(Config c, Algorithm algorithm) {
    String key = "dpo.label-smoothing";
    double smoothing = c.getDouble(key);
    if (smoothing != 0 && algorithm != Algorithm.CDPO) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key
          + " = " + smoothing + " applies to cdpo only (the algorithm is " + name(algorithm) + ")");
    }
    return smoothing;
  }

  private static String oneOf(Config c, String key, List<String> allowed) {
    String value = c.getString(key);
    if (!allowed.contains(value)) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key
          + ": unknown value '" + value + "' (expected one of: " + String.join(", ", allowed) + ")");
    }
    return value;
  }

  private static String name(Algorithm algorithm) {
    return algorithm.name().toLowerCase(Locale.ROOT);
  }

  private static Pooling pooling(Config c, String key) {
    try {
      return Pooling.parse(c.getString(key));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key + ": "
          + e.getMessage(), e);
    }
  }

  private static int nonNegative(Config c, String key) {
    int v = c.getInt(key);
    if (v < 0) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key
          + " must be >= 0, got " + v);
    }
    return v;
  }

  private static double positiveNumber(Config c, String key) {
    double v = c.getDouble(key);
    if (!(v > 0) || Double.isInfinite(v)) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key
          + " must be a number > 0 (or null), got " + v);
    }
    return v;
  }

  private static int positive(Config c, String key, Path file) {
    int v = c.getInt(key);
    if (v <= 0) {
      throw new IllegalArgumentException(ConfigCheck.where(c.getValue(key).origin()) + SECTION + "." + key
          + " must be positive, got " + v);
    }
    return v;
  }

  public List<String> targets() {
    return adapter.targets();
  }
}

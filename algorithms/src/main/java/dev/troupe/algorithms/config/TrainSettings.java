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
    int gradientAccumulationSteps, Path trainData, String dataFormat, String badRows, double dpoBeta,
    double dpoLabelSmoothing, int rmEpochs, Pooling rmPooling, boolean rmMargin, Path rewardModel, int maxNewTokens, double temperature, double ppoKlCoef, int ppoEpochs, int grpoGroupSize,
    double grpoBeta) {

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
      return new TrainSettings(algorithm, path(c, "model", base, file), c.getString("quantize"),
          base.resolve(c.getString("output")), c.getLong("seed"), positive(c, "steps", file),
          positive(c, "batch-size", file), c.getString("prompt-format"), adapter, c.getDouble("optim.lr"),
          c.getDouble("optim.max-grad-norm"), accumulation(c, algorithm), path(c, "data.train", base, file),
          dataFormat(c, algorithm), oneOf(c, "data.bad-rows", List.of("fail", "skip")), c.getDouble("dpo.beta"),
          labelSmoothing(c, algorithm), positive(c, "rm.epochs", file), pooling(c, "rm.pooling"),
          c.getBoolean("rm.margin"),
          c.getIsNull("reward-model") ? null : base.resolve(c.getString("reward-model")),
          positive(c, "generation.max-new-tokens", file), c.getDouble("generation.temperature"),
          c.getDouble("ppo.kl-coef"), positive(c, "ppo.epochs", file), positive(c, "grpo.group-size", file),
          c.getDouble("grpo.beta"));
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

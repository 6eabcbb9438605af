package dev.troupe.algorithms;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.sft.NextTokenLoss;
import dev.troupe.model.ModelFormatException;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.generate.Generation;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.slf4j.LoggerFactory;

/**
 * Tiny real models, a real byte-level tokenizer, the next-token loss, and the prompts, rule-based
 * reward and sampling the RL tests share.
 */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
public final class Fixtures {
  private Fixtures() {}

  /** Bytes 0..255, then {@code <s>} = 256 and {@code </s>} = 257. */
  public static Tokenizer byteTokenizer(Path dir) throws IOException, ModelFormatException {
    return Tokenizer.load(Tokenizer.writeByteLevel(dir, List.of("<s>", "</s>")));
  }

  /** A Llama with grouped-query attention (4 heads over 2 kv heads): hidden 64, 2 layers, MLP 128. */
  public static ModelConfig tinyLlama(int vocab) {
    return ModelConfig.llama(vocab, 64, 2, 4, 2, 128, 128);
  }

  /** {@code <s>} text {@code </s>} as ids. */
  public static long[] document(Tokenizer tokenizer, String text) {
    long[] body = tokenizer.encode(text);
    long[] ids = new long[body.length + 2];
    ids[0] = tokenizer.bosId().orElseThrow();
    System.arraycopy(body, 0, ids, 1, body.length);
    ids[ids.length - 1] = tokenizer.eosId().orElseThrow();
    return ids;
  }

  /** Right-pads rows into {ids, mask} owned by {@code manager}. */
  public static NDArray[] rightPadded(NDManager manager, List<long[]> rows) {
    Batch batch = Batch.rightPadded(manager, rows);
    return new NDArray[] {batch.ids(), batch.mask()};
  }

  /** Mean next-token cross-entropy in nats over real tokens (right-padded rows). */
  public static NDArray nextTokenLoss(NDArray logits, NDArray ids, NDArray mask) {
    return NextTokenLoss.mean(logits, ids, mask);
  }

  /** The loss of {@code rows} under {@code model} (and {@code adapter}, may be null), in {@code manager}. */
  public static NDArray loss(CausalLm model, Adapter adapter, List<long[]> rows, NDManager manager) {
    NDArray[] batch = rightPadded(manager, rows);
    return nextTokenLoss(model.forward(batch[0], batch[1], adapter, true), batch[0], batch[1]);
  }

  /**
   * Greedy decoding by repeated full forwards (no KV cache): appends the argmax token until
   * {@code stopId} or {@code maxNew} new tokens; returns only the new tokens, stop token excluded.
   */
  public static long[] greedy(CausalLm model, Adapter adapter, long[] prompt, int maxNew, long stopId,
      NDManager parent) {
    long[] seq = Arrays.copyOf(prompt, prompt.length + maxNew);
    int length = prompt.length;
    try (GradMode ignored = GradMode.disabled()) {
      while (length < seq.length) {
        try (NDManager step = parent.newSubManager()) {
          NDArray ids = step.create(Arrays.copyOf(seq, length), new Shape(1, length));
          NDArray logits = model.forward(ids, null, adapter, false);
          long next = logits.get(new NDIndex("0, -1, :")).argMax().getLong();
          if (next == stopId) {
            break;
          }
          seq[length++] = next;
        }
      }
    }
    return Arrays.copyOfRange(seq, prompt.length, length);
  }

  /**
   * Scales every base weight but the norms by 25, from CausalLm.random's N(0, 0.02) to N(0, 0.5) as
   * real bases spread: at 0.02 the frozen head caps every logit near 1, predictions are nearly uniform
   * whatever the context, and no adapter can make a confident one.
   */
  public static void spreadWeights(CausalLm model) {
    try (NDManager scratch = model.manager().newSubManager(); GradMode ignored = GradMode.disabled()) {
      model.stateDict(scratch).forEach((name, weight) -> {
        if (!name.contains("norm")) {
          weight.muli(25);
        }
      });
    }
  }

  public static float maxAbsDiff(NDArray a, NDArray b) {
    return a.sub(b).abs().max().getFloat();
  }

  /** A copy of each tensor's values, to compare bit for bit later. */
  public static List<float[]> snapshot(List<NDArray> tensors) {
    return tensors.stream().map(NDArray::toFloatArray).toList();
  }

  /** Whether two snapshots hold the same values, bit for bit. */
  /**
   * Asserts that {@code actual} matches {@code expected} tensor by tensor to float32 round-off of a
   * differently ordered sum (1e-5 absolute + 1e-4 relative), and that the tensors are not all ~0
   * (so that "equal" means "trained the same", not "never moved").
   */
  public static void assertCloseTensors(List<float[]> expected, List<float[]> actual, String what) {
    org.junit.jupiter.api.Assertions.assertEquals(expected.size(), actual.size(), what + ": tensor count");
    float largest = 0;
    for (int i = 0; i < expected.size(); i++) {
      float[] a = expected.get(i);
      float[] b = actual.get(i);
      org.junit.jupiter.api.Assertions.assertEquals(a.length, b.length, what + ": size of tensor " + i);
      for (int j = 0; j < a.length; j++) {
        org.junit.jupiter.api.Assertions.assertEquals(a[j], b[j], 1e-5f + 1e-4f * Math.abs(a[j]),
            what + ": tensor " + i + "[" + j + "]");
        largest = Math.max(largest, Math.abs(a[j]));
      }
    }
    org.junit.jupiter.api.Assertions.assertTrue(largest > 1e-3, what + ": every value is ~0 (" + largest + ")");
  }

  public static boolean sameValues(List<float[]> a, List<float[]> b) {
    if (a.size() != b.size()) {
      return false;
    }
    for (int i = 0; i < a.size(); i++) {
      if (!Arrays.equals(a.get(i), b.get(i))) {
        return false;
      }
    }
    return true;
  }

  /**
   * Sets the base's input embedding of {@code tokenId} to NaN, as a corrupted (or never
   * initialised) row would be: any batch containing that token has a NaN forward pass and a NaN
   * loss, batches without it are untouched. Pick an id that padding (id 0) never uses.
   */
  public static void poisonToken(CausalLm model, long tokenId) {
    if (tokenId == 0) {
      throw new IllegalArgumentException("padding uses id 0: poisoning it would poison every padded batch");
    }
    try (NDManager scratch = model.manager().newSubManager(); GradMode ignored = GradMode.disabled()) {
      NDArray embedding = model.stateDict(scratch).get("model.embed_tokens.weight"); // Llama's name
      if (embedding == null) {
        throw new IllegalArgumentException("poisonToken needs a Llama-family model");
      }
      embedding.set(new NDIndex(tokenId), Float.NaN);
    }
  }

  /** {@code n} prompts of {@code length} ids drawn uniformly below {@code vocab}, reproducible from {@code seed}. */
  public static List<long[]> randomPrompts(int n, int length, int vocab, long seed) {
    Random random = new Random(seed);
    List<long[]> prompts = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long[] prompt = new long[length];
      for (int j = 0; j < length; j++) {
        prompt[j] = random.nextInt(vocab);
      }
      prompts.add(prompt);
    }
    return prompts;
  }

  /**
   * A rule for a reward model: the fraction of response tokens equal to {@code target}, in [0, 1]
   * (1/V in expectation for a uniform policy over V tokens).
   */
  public static RewardFunction fractionOf(long target) {
    return (prompts, responses) -> responses.stream().mapToDouble(response -> {
      int hits = 0;
      for (long token : response) {
        hits += token == target ? 1 : 0;
      }
      return (double) hits / response.length;
    }).toArray();
  }

  /**
   * What fresh samples of a policy look like.
   *
   * @param meanReward the mean reward of one sample per prompt
   * @param kl the mean over samples of Σ_t (log π − log π_ref) over the response tokens: the
   *     sampled (k1) estimate of KL(π‖π_ref) per sequence, in nats; exactly 0 for the reference itself
   */
  public record Samples(double meanReward, double kl) {}

  /** One sample per prompt from base + {@code adapter} (null: the base), scored by {@code reward}. */
  public static Samples sample(CausalLm model, Adapter adapter, List<long[]> prompts, SamplingParams sampling,
      RewardFunction reward) {
    List<long[]> responses = new Generator(model, null).generateIds(prompts, adapter, sampling).stream()
        .map(Generation::tokenIds).toList();
    double meanReward = Arrays.stream(reward.score(prompts, responses)).average().orElseThrow();
    List<float[]> policy = LogProbs.score(model, prompts, responses, adapter, 1.0);
    List<float[]> reference = LogProbs.score(model, prompts, responses, null, 1.0);
    double kl = 0;
    for (int i = 0; i < responses.size(); i++) {
      for (int t = 0; t < policy.get(i).length; t++) {
        kl += policy.get(i)[t] - reference.get(i)[t];
      }
    }
    return new Samples(meanReward, kl / responses.size());
  }

  /**
   * What a policy worker and a reward worker hand a learner: {@code perPrompt} samples of base +
   * {@code adapter} per prompt (consecutive, one group each), scored by {@code reward}.
   */
  public static List<dev.troupe.protocol.Rollout> scoredRollouts(CausalLm model, Adapter adapter, List<long[]> prompts,
      int perPrompt, SamplingParams sampling, RewardFunction reward) {
    dev.troupe.protocol.GenerateRequest.Builder request = dev.troupe.protocol.GenerateRequest.newBuilder()
        .setRequestId("test").setSamplesPerPrompt(perPrompt)
        .setSampling(dev.troupe.algorithms.rollout.RolloutGenerator.sampling(sampling));
    for (int i = 0; i < prompts.size(); i++) {
      dev.troupe.protocol.Prompt.Builder prompt = dev.troupe.protocol.Prompt.newBuilder().setId("p" + i);
      for (long id : prompts.get(i)) {
        prompt.addTokenIds(id);
      }
      request.addPrompts(prompt);
    }
    List<dev.troupe.protocol.Rollout> rollouts = new dev.troupe.algorithms.rollout.RolloutGenerator(model, null, "test")
        .generate(request.build(), adapter, 0, "");
    return dev.troupe.algorithms.rollout.Rollouts.scoredBy(rollouts, reward);
  }

  /** Records the events {@code source}'s SLF4J logger sends to logback (the tests' backend) until closed. */
  public static LogRecorder recordLog(Class<?> source) {
    return new LogRecorder((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(source));
  }

  /** See {@link #recordLog}. */
  public static final class LogRecorder implements AutoCloseable {
    private final ch.qos.logback.classic.Logger logger;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    private LogRecorder(ch.qos.logback.classic.Logger logger) {
      this.logger = logger;
      appender.start();
      logger.addAppender(appender);
    }

    /** The formatted messages logged at WARN, in order. */
    public List<String> warnings() {
      return appender.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage)
          .toList();
    }

    @Override
    public void close() {
      logger.detachAppender(appender);
      appender.stop();
    }
  }
}

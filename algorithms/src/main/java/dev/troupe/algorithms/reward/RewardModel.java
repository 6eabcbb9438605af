package dev.troupe.algorithms.reward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.algorithms.rollout.Rollouts;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A reward model as in InstructGPT (Ouyang et al. 2022) and Llama 2 (Touvron et al. 2023): a causal
 * LM, optionally through a LoRA adapter, whose final hidden states go through a {@link RewardHead}
 * to give one scalar reward per ensemble member, read where the head's {@link Pooling} says (by
 * default at the sequence's last real token).
 *
 * <p>The base and the adapter belong to whoever made them (a policy worker may serve the same base);
 * the reward model owns only its head, which {@link #close} frees.
 */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
public final class RewardModel implements AutoCloseable {

  /**
   * The reward of one sequence: the mean over the ensemble members and their population standard
   * deviation (divided by K, not K−1: the spread of these K heads, 0 for a single head).
   */
  public record Score(double mean, double std) {}

  private final CausalLm base;
  private final Adapter adapter;
  private final RewardHead head;

  /** {@code adapter} may be null: the base itself is the reward model's trunk. */
  public RewardModel(CausalLm base, Adapter adapter, RewardHead head) {
    this.base = Objects.requireNonNull(base, "base");
    this.adapter = adapter;
    this.head = Objects.requireNonNull(head, "head");
    if (head.hiddenSize() != base.config().hiddenSize()) {
      throw new IllegalArgumentException("the head reads hidden states of size " + head.hiddenSize()
          + ", the base produces " + base.config().hiddenSize());
    }
  }

  /** A reward model over the base's adapter registered as {@code adapterName}. */
  public static RewardModel withAdapter(CausalLm base, String adapterName, RewardHead head) {
    return new RewardModel(base, base.adapter(adapterName), head);
  }

  public CausalLm base() {
    return base;
  }

  /** The adapter the trunk runs through, or null for the plain base. */
  public Adapter adapter() {
    return adapter;
  }

  public RewardHead head() {
    return head;
  }

  /** Ensemble members K. */
  public int members() {
    return head.members();
  }

  /**
   * Rewards for token ids [B, T] (int64) with a padding mask [B, T] (1 = token; null = no padding):
   * [B] for a single head, [B, K] for an ensemble, owned by ids' manager. With
   * {@link Pooling#LAST_TOKEN} each row is read at its last real token, t = max{t : mask[t] = 1},
   * which is sum(mask) − 1 for right padding (the training layout) and T − 1 for left padding, so
   * both layouts give each row the score it gets alone; the token sums of the other poolings skip
   * padding, in either layout. Under grad mode the result carries the graph to the head, the
   * adapter and the base.
   */
  public NDArray scores(NDArray ids, NDArray mask, boolean training) {
    return scores(ids, mask, mask, training);
  }

  /**
   * As {@link #scores(NDArray, NDArray, boolean)}, with the token sums running only over the
   * positions where {@code counted} [B, T] is 1 (null = every real token); {@link Pooling#LAST_TOKEN}
   * ignores it.
   */
  public NDArray scores(NDArray ids, NDArray mask, NDArray counted, boolean training) {
    NDManager step = ids.getManager();
    long b = ids.getShape().get(0);
    long t = ids.getShape().get(1);
    NDArray hidden = base.hidden(ids, mask, null, adapter, training); // [B, T, H]
    if (head.pooling() != Pooling.LAST_TOKEN) {
      NDArray summed = tokenSum(ids, mask, counted != null ? counted : mask, hidden); // [B, K]
      return head.members() == 1 ? summed.reshape(b) : summed;
    }
    NDArray last;
    if (mask == null) {
      last = step.full(new Shape(b), t - 1, DataType.INT64);
    } else {
      // t · mask peaks at the last real token; argMax of a row without tokens is 0.
      NDArray positions = step.arange(0f, (float) t).reshape(1, t);
      last = mask.toType(DataType.FLOAT32, false).mul(positions).argMax(1);
    }
    long h = hidden.getShape().get(2);
    NDArray index = last.reshape(b, 1, 1).broadcast(new Shape(b, 1, h));
    NDArray rewards = head.apply(hidden.gather(index, 1).reshape(b, h)); // [B, K]
    return head.members() == 1 ? rewards.reshape(b) : rewards;
  }

  private NDArray tokenSum(NDArray ids, NDArray mask, NDArray counted, NDArray hidden) {
    NDArray real = mask == null ? ids.onesLike().toType(DataType.FLOAT32, false) : mask.toType(DataType.FLOAT32, false);
    NDArray counts = counted == null ? real : counted.toType(DataType.FLOAT32, false);
    NDArray summed = head.apply(hidden).mul(counts.expandDims(2)).sum(new int[] {1}); // [B, K]
    if (head.pooling() == Pooling.TOKEN_SUM_LIKELIHOOD) {
      // log p(token t+1 | tokens ≤ t) wherever token t is real and token t+1 counts: under left
      // padding the first real token's target sits at a pad position, and a row alone never
      // predicts its first token. A select, as padding may hold -∞.
      NDArray logits = base.logits(hidden.get(new NDIndex(":, :-1, :")));
      NDArray logps = LogProbs.ofTargets(logits, ids.get(new NDIndex(":, 1:")), 1.0);
      NDArray predicted = real.get(new NDIndex(":, :-1")).mul(counts.get(new NDIndex(":, 1:"))).gt(0);
      NDArray likelihood = NDArrays.where(predicted, logps, logps.zerosLike()).sum(new int[] {1}); // [B]
      summed = summed.add(likelihood.expandDims(1).mul(head.likelihoodWeight()));
    }
    return summed;
  }

  /**
   * Inference: the reward of each sequence (its token ids, prompt and response), as the ensemble's
   * mean and spread, in one batch without gradients. Token sums run over the whole sequence, so
   * they compare responses to one prompt; {@link #score(List, List)} compares across prompts.
   */
  public List<Score> score(List<long[]> sequences) {
    if (sequences.isEmpty()) {
      return List.of();
    }
    float[] rewards;
    try (NDManager step = base.manager().newSubManager(); GradMode ignored = GradMode.disabled()) {
      Batch batch = Batch.rightPadded(step, sequences);
      rewards = scores(batch.ids(), batch.mask(), false).toFloatArray();
    }
    return summarise(rewards, sequences.size());
  }

  /**
   * Inference: the reward of each response to its prompt, in one batch without gradients. With a
   * token-sum pooling only the response's tokens count: the prompt's own terms (its log-likelihood
   * above all, tens of nats that vary from prompt to prompt) are the same for every response to it,
   * tell responses nothing, and would swamp the differences a policy learns from. With
   * {@link Pooling#LAST_TOKEN} this is {@link #score(List)} of the joined sequences.
   */
  public List<Score> score(List<long[]> prompts, List<long[]> responses) {
    if (prompts.size() != responses.size()) {
      throw new IllegalArgumentException(prompts.size() + " prompts but " + responses.size() + " responses");
    }
    if (prompts.isEmpty()) {
      return List.of();
    }
    List<long[]> sequences = new ArrayList<>(prompts.size());
    List<long[]> counted = new ArrayList<>(prompts.size());
    for (int i = 0; i < prompts.size(); i++) {
      long[] prompt = prompts.get(i);
      long[] response = responses.get(i);
      long[] joined = Rollouts.join(prompt, response);
      sequences.add(joined);
      long[] flags = new long[joined.length];
      Arrays.fill(flags, prompt.length, joined.length, 1L);
      counted.add(flags);
    }
    float[] rewards;
    try (NDManager step = base.manager().newSubManager(); GradMode ignored = GradMode.disabled()) {
      Batch batch = Batch.rightPadded(step, sequences);
      // The flag rows, right-padded with zeros like the ids, mark the response tokens of each row.
      NDArray countedMask = Batch.rightPadded(step, counted).ids();
      rewards = scores(batch.ids(), batch.mask(), countedMask, false).toFloatArray();
    }
    return summarise(rewards, prompts.size());
  }

  /**
   * This model as the reward a policy learner maximises: the ensemble mean of
   * {@link #score(List, List)}, so a token-sum pooling counts only the response.
   */
  public RewardFunction rewardFunction() {
    return (prompts, responses) -> score(prompts, responses).stream().mapToDouble(Score::mean).toArray();
  }

  private List<Score> summarise(float[] rewards, int rows) {
    int k = head.members();
    List<Score> out = new ArrayList<>(rows);
    for (int row = 0; row < rows; row++) {
      double mean = 0;
      for (int j = 0; j < k; j++) {
        mean += rewards[row * k + j];
      }
      mean /= k;
      double squares = 0;
      for (int j = 0; j < k; j++) {
        double d = rewards[row * k + j] - mean;
        squares += d * d;
      }
      out.add(new Score(mean, Math.sqrt(squares / k)));
    }
    return out;
  }

  @Override
  public void close() {
    head.close();
  }
}

package dev.troupe.algorithms.reward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.optim.AdamW;
import dev.troupe.algorithms.optim.LrSchedule;
import dev.troupe.algorithms.optim.MicroBatches;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.algorithms.trainer.StateTensors;
import dev.troupe.algorithms.trainer.Trainer;
import dev.troupe.protocol.TrainerState;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.autograd.Ops;
import dev.troupe.model.transformer.Batch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Trains a {@link RewardModel} on preference pairs with the {@link BradleyTerryLoss} and
 * {@link AdamW}: the head always, and with it the adapter or every base weight, as configured.
 * Not thread-safe: one learner thread drives it.
 */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
public final class RewardTrainer implements Trainer {

  /** What the optimizer updates besides the head. */
  public enum Trainable {
    /** The head alone, over frozen features (a linear probe). */
    HEAD,
    /** The head and the reward model's LoRA adapter, over a frozen base. */
    HEAD_AND_ADAPTER,
    /** The head and every base weight (full fine-tuning, as InstructGPT's reward model). */
    HEAD_AND_BASE
  }

  /**
   * Hyper-parameters of {@link RewardTrainer}.
   *
   * @param epochs passes over the pairs {@link #train} makes (InstructGPT and Llama 2: 1, to avoid
   *     over-fitting the reward model)
   * @param batchSize pairs per optimizer step
   * @param optim AdamW's rate (or schedule per step), decay and clipping, as every trainer takes them; its
   *     gradientAccumulationSteps splits each step's pairs into that many micro-batches, one forward and
   *     backward each (2·batchSize / steps sequences at a time), the gradient that of the whole batch's mean loss
   * @param centerRewardsCoefficient λ of the centring term λ·mean((r_c + r_r)²) (see
   *     {@link BradleyTerryLoss#compute(NDArray, NDArray, NDArray, NDArray, double)}); 0.01 for an
   *     ensemble whose spread should mean something, 0 = plain BT
   * @param bootstrap train each ensemble member on its own bootstrap resample of the pairs (see
   *     {@link #bootstrapWeight}); ignored with a single head
   * @param seed the shuffling of pairs between epochs and the bootstrap draws
   */
  public record Config(Trainable trainable, int epochs, int batchSize, OptimizerSettings optim,
      double centerRewardsCoefficient, boolean bootstrap, long seed) {
    public Config {
      if (trainable == null || optim == null) {
        throw new IllegalArgumentException("trainable and optim are required");
      }
      if (epochs < 1 || batchSize < 1) {
        throw new IllegalArgumentException("epochs and batchSize must be >= 1, got " + epochs + ", " + batchSize);
      }
      if (!(centerRewardsCoefficient >= 0)) {
        throw new IllegalArgumentException("centerRewardsCoefficient must be >= 0, got " + centerRewardsCoefficient);
      }
    }

    /** One epoch, AdamW at {@code lr} without decay, clipping at 1.0, plain BT, no bootstrap. */
    public static Config of(Trainable trainable, int batchSize, double lr) {
      return new Config(trainable, 1, batchSize, OptimizerSettings.of(lr), 0, false, 0);
    }

    public int gradientAccumulationSteps() {
      return optim.gradientAccumulationSteps();
    }

    public Config withEpochs(int n) {
      return new Config(trainable, n, batchSize, optim, centerRewardsCoefficient, bootstrap, seed);
    }

    public Config withGradientAccumulation(int microBatches) {
      return new Config(trainable, epochs, batchSize, optim.withGradientAccumulation(microBatches),
          centerRewardsCoefficient, bootstrap, seed);
    }

    public Config withSchedule(LrSchedule s) {
      return new Config(trainable, epochs, batchSize, optim.withSchedule(s), centerRewardsCoefficient, bootstrap, seed);
    }

    public Config withCenterRewards(double coefficient) {
      return new Config(trainable, epochs, batchSize, optim, coefficient, bootstrap, seed);
    }

    public Config withBootstrap(boolean b) {
      return new Config(trainable, epochs, batchSize, optim, centerRewardsCoefficient, b, seed);
    }

    public Config withSeed(long s) {
      return new Config(trainable, epochs, batchSize, optim, centerRewardsCoefficient, bootstrap, s);
    }
  }

  /**
   * What one optimizer step saw and did.
   *
   * @param step the optimizer step (0-based)
   * @param gradNorm global gradient norm before clipping
   * @param skipped the gradient was not finite and the optimizer left the weights alone
   * @param skippedSteps steps skipped so far by this trainer, this one included
   */
  public record StepMetrics(long step, int epoch, double loss, double accuracy, double chosen,
      double rejected, double margins, double gradNorm, double lr, boolean skipped, long skippedSteps) {

    /**
     * The metrics under the project's names ({@code loss}, {@code accuracy}, {@code rewards/...},
     * {@code optim/skipped_steps}).
     */
    public Map<String, Double> asMap() {
      Map<String, Double> out = new LinkedHashMap<>();
      out.put(MetricNames.LOSS, loss);
      out.put(MetricNames.ACCURACY, accuracy);
      out.put(MetricNames.REWARDS_CHOSEN, chosen);
      out.put(MetricNames.REWARDS_REJECTED, rejected);
      out.put(MetricNames.REWARDS_MARGINS, margins);
      out.put(MetricNames.GRAD_NORM, gradNorm);
      out.put(MetricNames.LEARNING_RATE, lr);
      out.put(MetricNames.OPTIM_SKIPPED_STEPS, (double) skippedSteps);
      return out;
    }
  }

  private final RewardModel model;
  private final Config config;
  private final List<NDArray> parameters;
  private final AdamW optimizer;
  private int epoch;
  private long steps; // taken, skipped ones included: the schedule's clock

  /**
   * A trainer that marks the configured parameters as requiring gradients and owns an optimizer
   * over them ({@link #close} frees its state, not the model).
   */
  public RewardTrainer(RewardModel model, Config config) {
    this.model = model;
    this.config = config;
    List<NDArray> params = new ArrayList<>(model.head().parameters());
    switch (config.trainable()) {
      case HEAD -> { }
      case HEAD_AND_ADAPTER -> {
        if (model.adapter() == null) {
          throw new IllegalArgumentException("HEAD_AND_ADAPTER needs a reward model with an adapter");
        }
        params.addAll(model.adapter().parameters());
      }
      case HEAD_AND_BASE -> params.addAll(model.base().baseParameters());
    }
    params.forEach(p -> p.setRequiresGradient(true));
    this.parameters = List.copyOf(params);
    this.optimizer = config.optim().newAdamW(parameters);
  }

  public Config config() {
    return config;
  }

  /** The optimizer (for its step count and memory accounting). */
  public AdamW optimizer() {
    return optimizer;
  }

  /** The tensors being trained: the head's, then the adapter's or the base's. */
  public List<NDArray> parameters() {
    return parameters;
  }

  /**
   * {@code config.epochs()} passes over {@code pairs}, each in a fresh random order cut into
   * minibatches of {@code config.batchSize()} (the last one may be smaller); one optimizer step per
   * minibatch. Returns the metrics of every step, in order.
   */
  public List<StepMetrics> train(List<TokenPair> pairs) {
    return train(pairs, step -> {});
  }

  /** As {@link #train(List)}, handing each step's metrics to {@code afterStep} as it is taken (progress). */
  public List<StepMetrics> train(List<TokenPair> pairs, java.util.function.Consumer<StepMetrics> afterStep) {
    if (pairs.isEmpty()) {
      throw new IllegalArgumentException("no pairs to train on");
    }
    List<StepMetrics> metrics = new ArrayList<>();
    List<TokenPair> order = new ArrayList<>(pairs);
    for (int e = 0; e < config.epochs(); e++) {
      // Each epoch's order depends on the seed and the epoch only, so a restored trainer shuffles as before.
      Collections.shuffle(order, new Random(config.seed() * 1_000_003L + epoch));
      for (int from = 0; from < order.size(); from += config.batchSize()) {
        StepMetrics m = step(order.subList(from, Math.min(order.size(), from + config.batchSize())));
        metrics.add(m);
        afterStep.accept(m);
      }
      epoch++;
    }
    return metrics;
  }

  /**
   * One optimizer step on one minibatch (in {@code gradientAccumulationSteps} micro-batches): the
   * Bradley–Terry loss back-propagated, gradients clipped, AdamW applied.
   */
  public StepMetrics step(List<TokenPair> batch) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("an empty minibatch");
    }
    long stepIndex = steps++;
    double lr = config.optim().lrAt(stepIndex);
    List<List<TokenPair>> micro = MicroBatches.split(batch, config.gradientAccumulationSteps());
    double[] shares = MicroBatches.shares(micro.stream().mapToDouble(List::size).toArray());
    // Every figure of the Bradley–Terry output is a mean over pairs: the step's is the share-weighted sum.
    double loss = 0;
    double accuracy = 0;
    double chosen = 0;
    double rejected = 0;
    double margins = 0;
    for (int i = 0; i < micro.size(); i++) {
      BradleyTerryLoss.Output out = backward(micro.get(i), micro.size() == 1 ? 1 : shares[i]);
      loss += shares[i] * out.lossValue();
      accuracy += shares[i] * out.accuracy();
      chosen += shares[i] * out.chosen();
      rejected += shares[i] * out.rejected();
      margins += shares[i] * out.margins();
    }
    AdamW.StepResult result = config.optim().step(optimizer, loss);
    return new StepMetrics(stepIndex, epoch, loss, accuracy, chosen, rejected, margins, result.gradNorm(), lr,
        result.skipped(), optimizer.skippedSteps());
  }

  /**
   * Forward and backward of one micro-batch: chosen and rejected responses scored in a single
   * right-padded batch, the Bradley–Terry loss scaled by {@code share} back-propagated. Every tensor
   * lives in a sub-manager closed before this returns.
   */
  private BradleyTerryLoss.Output backward(List<TokenPair> batch, double share) {
    int b = batch.size();
    int k = model.members();
    try (NDManager step = model.base().manager().newSubManager()) {
      List<long[]> rows = new ArrayList<>(2 * b);
      float[] margins = new float[b];
      for (int i = 0; i < b; i++) {
        rows.add(batch.get(i).chosen());
        margins[i] = (float) batch.get(i).margin();
      }
      batch.forEach(pair -> rows.add(pair.rejected()));
      Batch padded = Batch.rightPadded(step, rows);
      NDArray marginArray = step.create(margins);
      NDArray weights = config.bootstrap() && k > 1 ? bootstrapWeights(batch, step) : null;
      try (GradMode ignored = GradMode.enabled()) {
        NDArray scores = model.scores(padded.ids(), padded.mask(), true);
        NDArray chosen = scores.get(new NDIndex("0:{}", b));
        NDArray rejected = scores.get(new NDIndex("{}:", b));
        BradleyTerryLoss.Output out = BradleyTerryLoss.compute(chosen, rejected, marginArray, weights,
            config.centerRewardsCoefficient());
        GradMode.backward(share == 1 ? out.loss() : Ops.mul(out.loss(), share));
        return out;
      }
    }
  }

  /** Bootstrap counts [B, K] of a minibatch, see {@link #bootstrapWeight}. */
  private NDArray bootstrapWeights(List<TokenPair> batch, NDManager step) {
    int k = model.members();
    float[] w = new float[batch.size() * k];
    for (int i = 0; i < batch.size(); i++) {
      for (int j = 0; j < k; j++) {
        w[i * k + j] = bootstrapWeight(batch.get(i), j, config.seed());
      }
    }
    return step.create(w, new Shape(batch.size(), k));
  }

  /**
   * How many times ensemble member {@code member} drew {@code pair} into its bootstrap resample: a
   * Poisson(1) count, the large-sample limit of resampling N pairs with replacement (online
   * bagging, Oza &amp; Russell 2001). The count is a function of the pair's tokens, the member and
   * the seed, so each member sees the same resample in every epoch and every call, as with a
   * resample drawn once (bootstrapped DQN, Osband et al. 2016); about 37% of pairs get 0 and serve
   * as that member's out-of-bag pairs.
   */
  static int bootstrapWeight(TokenPair pair, int member, long seed) {
    long h = seed;
    h = h * 31 + Arrays.hashCode(pair.chosen());
    h = h * 31 + Arrays.hashCode(pair.rejected());
    h = h * 31 + member;
    SplittableRandom random = new SplittableRandom(h);
    // Knuth's multiplication method for Poisson(λ = 1).
    double limit = Math.exp(-1);
    double product = random.nextDouble();
    int count = 0;
    while (product > limit) {
      count++;
      product *= random.nextDouble();
    }
    return count;
  }

  /**
   * Fraction of {@code pairs} whose chosen response gets the higher mean reward (ties count as
   * wrong), scored without gradients in minibatches of {@code config.batchSize()}.
   */
  public double evaluate(List<TokenPair> pairs) {
    return accuracy(rankings(model, pairs, config.batchSize()));
  }

  /** The share of pairs ranked right, from {@link #rankings}. */
  public static double accuracy(boolean[] right) {
    int correct = 0;
    for (boolean r : right) {
      correct += r ? 1 : 0;
    }
    return (double) correct / right.length;
  }

  /**
   * For each pair, whether {@code model} gives its chosen response the higher mean reward (a tie is
   * wrong), scored without gradients {@code batchSize} pairs at a time: accuracy per slice of the pairs
   * (a task kind, a rater) is counted from these.
   */
  public static boolean[] rankings(RewardModel model, List<TokenPair> pairs, int batchSize) {
    if (pairs.isEmpty()) {
      throw new IllegalArgumentException("no pairs to evaluate");
    }
    boolean[] right = new boolean[pairs.size()];
    for (int from = 0; from < pairs.size(); from += batchSize) {
      List<TokenPair> batch = pairs.subList(from, Math.min(pairs.size(), from + batchSize));
      List<long[]> rows = new ArrayList<>(2 * batch.size());
      batch.forEach(pair -> rows.add(pair.chosen()));
      batch.forEach(pair -> rows.add(pair.rejected()));
      List<RewardModel.Score> scores = model.score(rows);
      for (int i = 0; i < batch.size(); i++) {
        right[from + i] = scores.get(i).mean() > scores.get(batch.size() + i).mean();
      }
    }
    return right;
  }

  @Override
  public dev.troupe.model.lora.Adapter adapter() {
    return model.adapter();
  }

  @Override
  public long updates() {
    return optimizer.stepCount();
  }

  /** Optimizer moments, the head's weights and the step and epoch counters (the adapter travels on its own). */
  @Override
  public TrainerState state() {
    TrainerState.Builder state = TrainerState.newBuilder().setAlgorithm(ALGORITHM);
    optimizer.writeState(state, "optim.");
    StateTensors.write(state, "head.", model.head().parameters());
    return state.putCounters("steps", steps).putCounters("epoch", epoch).build();
  }

  @Override
  public void restore(TrainerState state) {
    StateTensors.requireAlgorithm(state, ALGORITHM);
    optimizer.readState(state, "optim.");
    StateTensors.read(state, "head.", model.head().parameters());
    steps = StateTensors.counter(state, "steps");
    epoch = (int) StateTensors.counter(state, "epoch");
  }

  private static final String ALGORITHM = "reward-model";

  /** Frees the optimizer's state; the parameters keep requiring gradients until the caller says otherwise. */
  @Override
  public void close() {
    optimizer.close();
  }
}

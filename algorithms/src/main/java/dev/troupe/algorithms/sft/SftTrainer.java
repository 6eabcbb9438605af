package dev.troupe.algorithms.sft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.algorithms.optim.AdamW;
import dev.troupe.algorithms.optim.MicroBatches;
import dev.troupe.algorithms.optim.OptimizerSettings;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.autograd.Ops;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Supervised fine-tuning of an adapter (or, with no adapter, the whole base): next-token loss on
 * completion tokens, optional packing, periodic validation with early stopping on the best weights.
 */
public final class SftTrainer {
  /** What a run did: steps taken, the best validation loss and where, and each step's metrics. */
  public record Result(int steps, double bestEvalLoss, int bestStep, boolean stoppedEarly, List<Metrics> history) {}

  private final CausalLm model;
  private final Adapter adapter;
  private final SftConfig config;

  /** {@code adapter} null trains every base parameter (full fine-tuning of a dense base). */
  public SftTrainer(CausalLm model, Adapter adapter, SftConfig config) {
    this.model = model;
    this.adapter = adapter;
    this.config = config;
  }

  public Result train(List<SftSample> train, List<SftSample> eval, Consumer<Metrics> onStep) {
    if (train.isEmpty()) {
      throw new IllegalArgumentException("the SFT training set is empty");
    }
    List<NDArray> params = adapter != null ? adapter.parameters() : model.baseParameters();
    params.forEach(p -> p.setRequiresGradient(true));
    OptimizerSettings optim = config.optimizer();
    List<Row> rows = config.packing() ? pack(train, config.packLength()) : unpacked(train);
    Random random = new Random(config.seed());
    List<Integer> order = new ArrayList<>();
    int cursor = 0;
    List<Metrics> history = new ArrayList<>();
    double bestEval = Double.POSITIVE_INFINITY;
    int bestStep = -1;
    int evalsWithoutGain = 0;
    boolean stoppedEarly = false;
    int step = 0;
    try (NDManager bestWeights = model.manager().newSubManager();
        AdamW optimizer = optim.newAdamW(params)) {
      List<NDArray> best = null;
      for (; step < config.steps(); step++) {
        List<Row> batch = new ArrayList<>();
        for (int i = 0; i < config.batchSize() * config.gradientAccumulationSteps(); i++) {
          if (cursor == order.size()) {
            order = shuffled(rows.size(), random);
            cursor = 0;
          }
          batch.add(rows.get(order.get(cursor++)));
        }
        Metrics m = new Metrics();
        double stepLoss = 0;
        List<List<Row>> micro = MicroBatches.split(batch, config.gradientAccumulationSteps());
        double[] shares = MicroBatches.shares(micro.stream().mapToDouble(SftTrainer::countedTargets).toArray());
        for (int i = 0; i < micro.size(); i++) {
          // One micro-batch's activations at a time; its mean over its own target tokens, weighted by
          // its share of the step's tokens, adds up to the mean over all of them.
          try (NDManager microManager = model.manager().newSubManager(); GradMode ignored = GradMode.enabled()) {
            NDArray loss = loss(micro.get(i), microManager, true);
            GradMode.backward(micro.size() == 1 ? loss : Ops.mul(loss, shares[i]));
            stepLoss += loss.getFloat() * shares[i];
          }
        }
        double lr = optim.lrAt(step);
        AdamW.StepResult result = optim.step(optimizer, stepLoss);
        m.put(MetricNames.LOSS, stepLoss).put(MetricNames.GRAD_NORM, result.gradNorm()).put(MetricNames.LEARNING_RATE, lr)
            .put("skipped", result.skipped() ? 1 : 0).put(MetricNames.OPTIM_SKIPPED_STEPS, optimizer.skippedSteps());
        boolean evaluate = config.evalEvery() > 0 && !eval.isEmpty()
            && ((step + 1) % config.evalEvery() == 0 || step + 1 == config.steps());
        if (evaluate) {
          double evalLoss = evalLoss(eval);
          m.put(MetricNames.EVAL_LOSS, evalLoss);
          if (evalLoss < bestEval) {
            bestEval = evalLoss;
            bestStep = step + 1;
            evalsWithoutGain = 0;
            best = snapshot(params, bestWeights, best);
          } else if (++evalsWithoutGain >= config.patience()) {
            stoppedEarly = true;
          }
        }
        m.put("step", step + 1);
        history.add(m);
        onStep.accept(m);
        if (stoppedEarly) {
          step++;
          break;
        }
      }
      if (best != null && bestStep < step) {
        restore(params, best);
      }
    } finally {
      params.forEach(p -> p.setRequiresGradient(false));
    }
    return new Result(step, bestEval, bestStep, stoppedEarly, history);
  }

  /** Mean next-token loss over {@code samples} (same masking and packing as training), no gradients. */
  public double evalLoss(List<SftSample> samples) {
    List<Row> rows = config.packing() ? pack(samples, config.packLength()) : unpacked(samples);
    double total = 0;
    double tokens = 0;
    try (GradMode ignored = GradMode.disabled()) {
      for (int from = 0; from < rows.size(); from += config.batchSize()) {
        List<Row> batch = rows.subList(from, Math.min(rows.size(), from + config.batchSize()));
        try (NDManager step = model.manager().newSubManager()) {
          double counted = countedTargets(batch);
          total += loss(batch, step, false).getFloat() * counted;
          tokens += counted;
        }
      }
    }
    return total / Math.max(1, tokens);
  }

  private NDArray loss(List<Row> batch, NDManager manager, boolean training) {
    int length = batch.stream().mapToInt(r -> r.ids.length).max().orElseThrow();
    long[] ids = new long[batch.size() * length];
    float[] mask = new float[batch.size() * length];
    float[] learn = new float[batch.size() * length];
    for (int b = 0; b < batch.size(); b++) {
      Row row = batch.get(b);
      System.arraycopy(row.ids, 0, ids, b * length, row.ids.length);
      Arrays.fill(mask, b * length, b * length + row.ids.length, 1f);
      System.arraycopy(row.learn, 0, learn, b * length, row.learn.length);
    }
    Shape shape = new Shape(batch.size(), length);
    NDArray idArray = manager.create(ids, shape);
    NDArray logits = model.forward(idArray, manager.create(mask, shape), adapter, training);
    return NextTokenLoss.mean(logits, idArray, manager.create(learn, shape));
  }

  private static double countedTargets(List<Row> rows) {
    return rows.stream().mapToDouble(Row::countedTargets).sum();
  }

  /** A training row: token ids and, per position, whether that token is a target to learn. */
  private record Row(long[] ids, float[] learn) {
    double countedTargets() {
      double n = 0;
      for (int i = 1; i < learn.length; i++) {
        n += learn[i];
      }
      return n;
    }
  }

  private List<Row> unpacked(List<SftSample> samples) {
    List<Row> rows = new ArrayList<>();
    for (SftSample s : samples) {
      rows.add(row(s));
    }
    return rows;
  }

  private Row row(SftSample s) {
    long[] ids = Arrays.copyOf(s.prompt(), s.length());
    System.arraycopy(s.completion(), 0, ids, s.prompt().length, s.completion().length);
    float[] learn = new float[ids.length];
    Arrays.fill(learn, config.maskPrompt() ? s.prompt().length : 1, ids.length, 1f);
    return new Row(ids, learn);
  }

  /** Examples laid end to end and cut into rows of {@code length}; the tail shorter than a row is kept as a short row. */
  private List<Row> pack(List<SftSample> samples, int length) {
    List<Row> rows = new ArrayList<>();
    long[] ids = new long[length];
    float[] learn = new float[length];
    int fill = 0;
    for (SftSample s : samples) {
      Row r = row(s);
      for (int i = 0; i < r.ids.length; i++) {
        ids[fill] = r.ids[i];
        learn[fill] = r.learn[i];
        if (++fill == length) {
          rows.add(new Row(ids, learn));
          ids = new long[length];
          learn = new float[length];
          fill = 0;
        }
      }
    }
    if (fill > 1) {
      rows.add(new Row(Arrays.copyOf(ids, fill), Arrays.copyOf(learn, fill)));
    }
    return rows;
  }

  private static List<Integer> shuffled(int n, Random random) {
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      order.add(i);
    }
    Collections.shuffle(order, random);
    return order;
  }

  private static List<NDArray> snapshot(List<NDArray> params, NDManager into, List<NDArray> previous) {
    if (previous != null) {
      previous.forEach(NDArray::close);
    }
    List<NDArray> copies = new ArrayList<>();
    try (GradMode ignored = GradMode.disabled()) {
      for (NDArray p : params) {
        copies.add(Ops.copyInto(p, p.getDataType(), into));
      }
    }
    return copies;
  }

  private static void restore(List<NDArray> params, List<NDArray> saved) {
    try (GradMode ignored = GradMode.disabled()) {
      for (int i = 0; i < params.size(); i++) {
        Ops.muli(params.get(i), 0).addi(saved.get(i));
      }
    }
  }
}

package dev.troupe.model.generate;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.RowAdapters;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import java.util.ArrayList;
import java.util.List;
import dev.troupe.model.autograd.Ops;

/**
 * Per-token log-probs of given responses under the model (with an adapter, or none for the
 * reference policy): what PPO needs for old-policy and reference log-probs, and DPO for its ratios.
 */
public final class LogProbs {
  private LogProbs() {}

  /**
   * log π(token | preceding tokens) for logits [B, T, V] and target ids [B, T] (int64): [B, T] fp32,
   * owned by the logits' manager. Differentiable when computed under grad mode.
   */
  public static NDArray ofTargets(NDArray logits, NDArray targets, double temperature) {
    NDArray scaled = temperature == 1.0 ? logits : Ops.div(logits, temperature);
    return atTargets(scaled.logSoftmax(-1), targets);
  }

  /**
   * The entries of log-probabilities [B, T, V] at target ids [B, T]: for a caller that needs the
   * whole distribution too (PPO's entropy) and so takes the log-softmax once.
   */
  public static NDArray atTargets(NDArray logProbs, NDArray targets) {
    return logProbs.gather(targets.expandDims(-1), -1).squeeze(-1);
  }

  /** Scores each response after its prompt, without gradients; one float per response token. */
  public static List<float[]> score(CausalLm model, List<long[]> prompts, List<long[]> responses,
      Adapter adapter, double temperature) {
    return score(model, prompts, responses, manager -> RowAdapters.all(adapter), temperature);
  }

  /**
   * As {@link #score(CausalLm, List, List, Adapter, double)} with row i through {@code adapters.get(i)}
   * (null: the base), all rows in one forward pass.
   */
  public static List<float[]> scorePerRow(CausalLm model, List<long[]> prompts, List<long[]> responses,
      List<Adapter> adapters, double temperature) {
    if (adapters.size() != prompts.size()) {
      throw new IllegalArgumentException(prompts.size() + " prompts but " + adapters.size() + " adapters");
    }
    return score(model, prompts, responses,
        manager -> RowAdapters.of(adapters, Generator.DEFAULT_STRATEGY, manager), temperature);
  }

  private static List<float[]> score(CausalLm model, List<long[]> prompts, List<long[]> responses,
      java.util.function.Function<NDManager, RowAdapters> adapters, double temperature) {
    if (prompts.size() != responses.size()) {
      throw new IllegalArgumentException(prompts.size() + " prompts but " + responses.size() + " responses");
    }
    int length = 0;
    List<long[]> joined = new ArrayList<>();
    for (int i = 0; i < prompts.size(); i++) {
      long[] row = new long[prompts.get(i).length + responses.get(i).length];
      System.arraycopy(prompts.get(i), 0, row, 0, prompts.get(i).length);
      System.arraycopy(responses.get(i), 0, row, prompts.get(i).length, responses.get(i).length);
      joined.add(row);
      length = Math.max(length, row.length);
    }
    List<float[]> out = new ArrayList<>();
    try (GradMode ignored = GradMode.disabled(); NDManager step = model.manager().newSubManager();
        RowAdapters perRow = adapters.apply(step)) {
      Batch padded = Batch.leftPadded(step, joined);
      NDArray logits = model.forwardPerRow(padded.ids(), padded.mask(), perRow, false);
      // logits at position i predict token i + 1.
      NDArray predicted = ofTargets(logits.get(new NDIndex(":, :-1, :")),
          padded.ids().get(new NDIndex(":, 1:")), temperature);
      float[] all = predicted.toFloatArray();
      for (int b = 0; b < joined.size(); b++) {
        int responseLength = responses.get(b).length;
        float[] lp = new float[responseLength];
        // Row b's last responseLength targets sit at the end of its (left-padded) row.
        System.arraycopy(all, b * (length - 1) + (length - 1 - responseLength), lp, 0, responseLength);
        out.add(lp);
      }
    }
    return out;
  }
}

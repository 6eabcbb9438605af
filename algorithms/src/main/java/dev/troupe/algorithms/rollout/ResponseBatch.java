package dev.troupe.algorithms.rollout;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Rollout;
import java.util.Arrays;
import java.util.List;

/**
 * Prompt + response rows, right-padded, with the mask of the targets that are response tokens:
 * what every preference algorithm scores. Targets are shifted by one: column t predicts token t+1.
 *
 * @param ids [B, T] int64
 * @param mask [B, T] fp32, 1 = a real token
 * @param responseMask [B, T-1] fp32, 1 where the target (token t+1) belongs to the response
 */
public record ResponseBatch(NDArray ids, NDArray mask, NDArray responseMask) {

  public static ResponseBatch of(NDManager manager, List<long[]> prompts, List<long[]> responses) {
    if (prompts.size() != responses.size()) {
      throw new IllegalArgumentException(prompts.size() + " prompts but " + responses.size() + " responses");
    }
    int b = prompts.size();
    int t = 0;
    for (int i = 0; i < b; i++) {
      if (responses.get(i).length == 0) {
        throw new IllegalArgumentException("response " + i + " is empty");
      }
      t = Math.max(t, prompts.get(i).length + responses.get(i).length);
    }
    long[] ids = new long[b * t];
    float[] mask = new float[b * t];
    float[] response = new float[b * (t - 1)];
    for (int i = 0; i < b; i++) {
      long[] p = prompts.get(i);
      long[] r = responses.get(i);
      System.arraycopy(p, 0, ids, i * t, p.length);
      System.arraycopy(r, 0, ids, i * t + p.length, r.length);
      Arrays.fill(mask, i * t, i * t + p.length + r.length, 1f);
      Arrays.fill(response, i * (t - 1) + p.length - 1, i * (t - 1) + p.length - 1 + r.length, 1f);
    }
    return new ResponseBatch(manager.create(ids, new Shape(b, t)), manager.create(mask, new Shape(b, t)),
        manager.create(response, new Shape(b, t - 1)));
  }

  /** Rows of the rollouts' prompt and response ids. */
  public static ResponseBatch of(NDManager manager, List<Rollout> rollouts) {
    return of(manager, Rollouts.promptIds(rollouts), Rollouts.responseIds(rollouts));
  }

  /**
   * The rollouts' behaviour log-probs laid out like {@link #responseMask()} [B, T-1] (zero elsewhere):
   * log π_behaviour of the target at each response position, as the sampler recorded it.
   */
  public static NDArray behaviourLogProbs(NDManager manager, List<Rollout> rollouts, long columns) {
    int b = rollouts.size();
    float[] out = new float[Math.toIntExact(b * columns)];
    for (int i = 0; i < b; i++) {
      Rollout r = rollouts.get(i);
      if (r.getBehaviourLogprobsCount() != r.getResponseTokenIdsCount()) {
        throw new IllegalArgumentException("rollout " + r.getId() + " has " + r.getBehaviourLogprobsCount()
            + " behaviour log-probs for " + r.getResponseTokenIdsCount() + " response tokens");
      }
      int start = Math.toIntExact(i * columns + r.getPrompt().getTokenIdsCount() - 1);
      for (int j = 0; j < r.getBehaviourLogprobsCount(); j++) {
        out[start + j] = r.getBehaviourLogprobs(j);
      }
    }
    return manager.create(out, new Shape(b, columns));
  }

  /** The next-token targets [B, T-1]. */
  public NDArray targets() {
    return ids.get(new NDIndex(":, 1:"));
  }

  /**
   * Per-target log-probs [B, T-1] under {@code adapter} (null: the reference policy) at
   * {@code temperature}; differentiable when called under grad mode.
   */
  public NDArray logProbs(CausalLm model, Adapter adapter, boolean training, double temperature) {
    NDArray logits = model.forward(ids, mask, adapter, training);
    return LogProbs.ofTargets(logits.get(new NDIndex(":, :-1, :")), targets(), temperature);
  }
}

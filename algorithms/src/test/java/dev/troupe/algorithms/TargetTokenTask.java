package dev.troupe.algorithms;

import dev.troupe.algorithms.rollout.RewardFunction;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.transformer.CausalLm;
import java.util.List;

/**
 * The policy-gradient tests' task: a tiny random Llama over an 8-token vocabulary, rewarded by the
 * fraction of response tokens equal to {@link #TARGET}. The vocabulary is small on purpose: a LoRA
 * adapter over a random base can move each logit by only about ±1.3 (the frozen head's rows have
 * norm 0.02·√64, see TinyModelMemorisesTextTest), which over 8 tokens is room enough to triple a
 * token's probability and over 258 bytes is not.
 */
public final class TargetTokenTask {
  private TargetTokenTask() {}

  public static final int VOCAB = 8;
  public static final long TARGET = 3;
  public static final RewardFunction REWARD = Fixtures.fractionOf(TARGET);
  public static final double LR = 1e-2;
  /** 8 response tokens: no EOS in the config, so every response has exactly this length. */
  public static final SamplingParams TRAINING = SamplingParams.sample(8, 1.0, 5);
  /** Held out: other prompts and another seed than any training batch. */
  public static final List<long[]> HELD_OUT = Fixtures.randomPrompts(64, 4, VOCAB, 99);
  public static final SamplingParams EVALUATION = SamplingParams.sample(8, 1.0, 7);

  /** {@code prompts} random 4-token prompts, different for every iteration and from {@link #HELD_OUT}. */
  public static List<long[]> batch(int iteration, int prompts) {
    return Fixtures.randomPrompts(prompts, 4, VOCAB, 1000 + iteration);
  }

  /** A rank-8 adapter on every projection, the same initial weights for every test. */
  public static Adapter adapter(CausalLm model, String name) {
    return model.createAdapter(name, LoraConfig.of(8, 16, "q", "k", "v", "o", "gate", "up", "down"), 2);
  }
}

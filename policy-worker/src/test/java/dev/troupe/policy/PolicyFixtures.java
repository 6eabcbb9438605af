package dev.troupe.policy;

import ai.djl.ndarray.types.Shape;
import dev.troupe.algorithms.adapter.AdapterVersions;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.LoraLayer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.AdapterVersion;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.SamplingParams;
import java.util.SplittableRandom;

/** Tiny models, adapter versions and requests shared by the policy worker's tests. */
public final class PolicyFixtures {
  private PolicyFixtures() {}

  /** A tiny Llama: vocabulary 48, 2 layers, 4 query heads over 2 key/value heads. */
  public static ModelConfig config() {
    return ModelConfig.llama(48, 32, 2, 4, 2, 64, 64);
  }

  /**
   * Version {@code version} of a learner's adapter {@code name} over {@code model}: B filled with
   * values of size {@code scale} (seeded by name and version), so it moves the logits; DoRA when asked.
   */
  @SuppressWarnings("try") // the GradMode scope is opened for its effect
  public static AdapterVersion version(CausalLm model, String name, long version, float scale, boolean dora) {
    String scratch = "learner-" + name + "-" + version;
    LoraConfig config = LoraConfig.of(dora ? 4 : 8, 8, "q", "v", "o", "up").withDora(dora);
    Adapter learner = model.createAdapter(scratch, config, 3);
    SplittableRandom random = new SplittableRandom(name.hashCode() * 31L + version);
    try (GradMode ignored = GradMode.disabled()) {
      for (LoraLayer layer : learner.layers().values()) {
        Shape shape = layer.b().getShape();
        float[] values = new float[(int) shape.size()];
        for (int i = 0; i < values.length; i++) {
          values[i] = scale * (float) random.nextGaussian();
        }
        layer.b().set(values);
      }
    }
    AdapterVersion out = AdapterVersions.snapshot(learner, model, name, version);
    model.removeAdapter(scratch);
    return out;
  }

  public static SamplingParams sampling(int maxNewTokens, double temperature, int topK, double topP, long seed) {
    return SamplingParams.newBuilder().setMaxNewTokens(maxNewTokens).setTemperature(temperature).setTopK(topK)
        .setTopP(topP).setSeed(seed).addStopTokenIds(-1).build();
  }

  /** {@code prompts} prompts of different lengths, each sampled {@code samplesPerPrompt} times. */
  public static GenerateRequest request(String adapter, String id, int prompts, int samplesPerPrompt,
      SamplingParams sampling) {
    GenerateRequest.Builder r = GenerateRequest.newBuilder().setRequestId(id).setAdapter(adapter)
        .setAdapterVersion(Long.MAX_VALUE).setSamplesPerPrompt(samplesPerPrompt).setSampling(sampling);
    for (int i = 0; i < prompts; i++) {
      Prompt.Builder p = Prompt.newBuilder().setId(id + "/prompt-" + i);
      for (int t = 0; t <= 2 * i + (id.length() % 3); t++) {
        p.addTokenIds(1 + Math.floorMod(id.hashCode() + 7 * t + i, 40));
      }
      r.addPrompts(p);
    }
    return r.build();
  }
}

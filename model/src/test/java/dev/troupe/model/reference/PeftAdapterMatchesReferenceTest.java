package dev.troupe.model.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PEFT adapter folders written by the reference side (PEFT's config fields and key names,
 * fan_in_fan_out for GPT-2's Conv1D, DoRA's saved magnitude), loaded by PeftAdapters over a base
 * read by HfModel: the adapted logits match the reference's model with the adapter merged by formula.
 */
class PeftAdapterMatchesReferenceTest {
  private static final Logger LOG = LoggerFactory.getLogger(PeftAdapterMatchesReferenceTest.class);
  @TempDir Path dir;

  record Case(String name, ReferenceConfig config, List<String> targets, int rank, double alpha, boolean rsLora,
      boolean dora, StoredType stored) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> adapters() {
    return Stream.of(
        new Case("llama rsLoRA on every projection", ReferenceConfig.llama(),
            List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"), 4, 8, true, false,
            StoredType.F32),
        new Case("qwen2 DoRA on q, v and down, bf16 file", ReferenceConfig.qwen2(),
            List.of("q_proj", "v_proj", "down_proj"), 4, 16, false, true, StoredType.BF16),
        new Case("mistral LoRA on q and v", ReferenceConfig.mistral(), List.of("q_proj", "v_proj"), 8, 16, false,
            false, StoredType.F32),
        new Case("gpt2 LoRA, fan_in_fan_out, c_attn c_proj c_fc", ReferenceConfig.gpt2(),
            List.of("c_attn", "c_proj", "c_fc"), 4, 8, false, false, StoredType.F32),
        new Case("gpt2 DoRA, fan_in_fan_out, c_attn and c_fc", ReferenceConfig.gpt2(), List.of("c_attn", "c_fc"),
            4, 8, false, true, StoredType.F32))
        .map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("adapters")
  void adaptedLogitsMatchTheReferenceWithTheAdapterMergedByFormula(Case c) throws IOException {
    Map<String, ReferenceTensor> base = ReferenceWeights.random(c.config(), 23);
    ReferenceSafetensors.writeCheckpoint(dir.resolve("base"), c.config(), base, StoredType.F32, 1);
    ReferencePeftAdapter adapter = ReferencePeftAdapter.random(c.config(), base, c.targets(), c.rank(), c.alpha(),
        c.rsLora(), c.dora(), 29);
    adapter.write(dir.resolve("adapter"), c.config(), c.stored());

    Map<String, ReferenceTensor> stored = ReferenceWeights.roundedTo(base, StoredType.F32);
    ReferenceModel plain = new ReferenceModel(c.config(), stored);
    ReferenceModel adapted = new ReferenceModel(c.config(), adapter.roundedTo(c.stored()).mergedInto(stored, c.config()));
    List<long[]> rows = LogitsComparison.rows(c.config().vocab(), 7, 9, 3, 6);
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = HfModel.load(dir.resolve("base"), HfModel.LoadOptions.defaults(), root)) {
      Adapter loaded = model.register(PeftAdapters.load(dir.resolve("adapter"), "peft", model));
      assertEquals(adapter.modules().keySet(), loaded.layers().keySet(), "adapted modules");
      assertEquals(c.dora(), loaded.config().useDora());

      double error = LogitsComparison.relativeError(model, loaded, adapted, rows);
      double base0 = LogitsComparison.relativeError(model, null, plain, rows);
      // How far the adapter moves the reference's logits: what a mistake in its scaling, layout or
      // magnitude would have to hide inside.
      double effect = LogitsComparison.relativeDifference(adapted.logits(rows.get(0)), plain.logits(rows.get(0)));
      LOG.info("{}: adapted relative error {}, base {}, adapter effect {}", c, error, base0, effect);
      assertTrue(error <= LogitsComparison.TOLERANCE, c + ": adapted relative error " + error);
      assertTrue(base0 <= LogitsComparison.TOLERANCE, c + ": base relative error " + base0);
      assertTrue(effect > 100 * LogitsComparison.TOLERANCE, c + ": the adapter moves the logits by only " + effect);
    }
  }
}

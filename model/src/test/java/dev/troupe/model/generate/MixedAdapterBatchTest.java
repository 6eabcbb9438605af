package dev.troupe.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.lora.LoraLayer;
import dev.troupe.model.lora.RowAdapters;
import dev.troupe.model.quant.Quantization;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.model.transformer.TinyModels;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A batch whose rows run through different adapters (and sample with different settings) gives
 * every row what single-adapter generation gives it, for LoRA and DoRA of different ranks and
 * targets, over a dense and an NF4 base, with both ways of computing the updates.
 */
class MixedAdapterBatchTest {
  /** Each adapter's request: the same prompts, so a row sent through the wrong adapter shows. */
  static final List<long[]> PROMPTS = List.of(new long[] {5, 9, 13, 2, 40}, new long[] {7}, new long[] {60, 61, 62});
  /** The base's rows include a longer prompt: in the mixed batch the other rows get more left padding than alone. */
  static final List<long[]> BASE_PROMPTS = List.of(new long[] {3, 4, 5, 6, 7, 8, 9, 10}, new long[] {7});

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    for (Quantization base : List.of(Quantization.NONE, Quantization.NF4)) {
      for (boolean dora : List.of(false, true)) {
        for (RowAdapters.Strategy strategy : RowAdapters.Strategy.values()) {
          out.add(Arguments.of(base, dora, strategy));
        }
      }
    }
    return out.stream();
  }

  /** Trained-looking factors: B (and DoRA's magnitude) moved off their initial values, reproducibly. */
  @SuppressWarnings("try") // the GradMode scope is opened for its effect
  static void train(Adapter adapter, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    try (GradMode ignored = GradMode.disabled()) {
      for (LoraLayer layer : adapter.layers().values()) {
        float[] b = new float[(int) layer.b().size()];
        for (int i = 0; i < b.length; i++) {
          b[i] = (float) random.nextGaussian() * 0.6f;
        }
        layer.b().set(b);
        if (layer.isDora()) {
          float[] m = layer.magnitude().toFloatArray();
          for (int i = 0; i < m.length; i++) {
            m[i] *= (float) (1 + 0.3 * random.nextGaussian());
          }
          layer.magnitude().set(m);
        }
      }
    }
  }

  /** Three adapters of different ranks and targets; with {@code dora}, the first and last are DoRA, the middle one LoRA. */
  static List<Adapter> adapters(CausalLm model, boolean dora) {
    List<Adapter> out = List.of(
        model.createAdapter("a", LoraConfig.of(4, 8, "q", "v").withDora(dora), 1),
        model.createAdapter("b", LoraConfig.of(8, 16, "q", "k", "v", "o", "gate", "up", "down"), 2),
        model.createAdapter("c", LoraConfig.of(2, 4, "o", "down", "up").withDora(dora), 3));
    for (int i = 0; i < out.size(); i++) {
      train(out.get(i), 100 + i);
    }
    return out;
  }

  /** Each adapter's request samples its own way: plain, top-k, top-p, with different lengths and seeds. */
  static List<SamplingParams> sampled() {
    return List.of(SamplingParams.sample(9, 1.0, 42), SamplingParams.sample(7, 0.8, 43).withTopK(10),
        SamplingParams.sample(10, 1.2, 44).withTopP(0.9));
  }

  static List<SamplingParams> greedy() {
    return List.of(SamplingParams.greedy(9), SamplingParams.greedy(7), SamplingParams.greedy(10));
  }

  /**
   * The mixed batch, rows interleaved (a0, b0, c0, base0, a1, ...) so that grouping rows by adapter
   * and putting results back in order are exercised; returns per adapter (then the base) its rows' generations.
   */
  static List<List<Generation>> mixed(Generator generator, List<Adapter> adapters, List<SamplingParams> params,
      SamplingParams baseParams) {
    List<GenerationRow> rows = new ArrayList<>();
    List<int[]> where = new ArrayList<>(); // {group, index in group}
    int longest = Math.max(PROMPTS.size(), BASE_PROMPTS.size());
    for (int i = 0; i < longest; i++) {
      for (int g = 0; g < adapters.size(); g++) {
        if (i < PROMPTS.size()) {
          rows.add(new GenerationRow(PROMPTS.get(i), adapters.get(g), params.get(g), i));
          where.add(new int[] {g, i});
        }
      }
      if (i < BASE_PROMPTS.size()) {
        rows.add(new GenerationRow(BASE_PROMPTS.get(i), null, baseParams, i));
        where.add(new int[] {adapters.size(), i});
      }
    }
    List<Generation> out = generator.generateRows(rows);
    List<List<Generation>> byGroup = new ArrayList<>();
    for (int g = 0; g <= adapters.size(); g++) {
      byGroup.add(Arrays.asList(new Generation[g < adapters.size() ? PROMPTS.size() : BASE_PROMPTS.size()]));
    }
    for (int r = 0; r < rows.size(); r++) {
      byGroup.get(where.get(r)[0]).set(where.get(r)[1], out.get(r));
    }
    return byGroup;
  }

  static void assertSameRows(List<Generation> alone, List<Generation> batched, String what) {
    assertEquals(alone.size(), batched.size());
    for (int i = 0; i < alone.size(); i++) {
      assertArrayEquals(alone.get(i).tokenIds(), batched.get(i).tokenIds(), what + " row " + i + " tokens");
      assertArrayEquals(alone.get(i).logProbs(), batched.get(i).logProbs(), 1e-4f, what + " row " + i + " log-probs");
      assertEquals(alone.get(i).finish(), batched.get(i).finish(), what + " row " + i + " finish");
    }
  }

  static int differingTokens(List<Generation> x, List<Generation> y) {
    int n = 0;
    for (int i = 0; i < x.size(); i++) {
      long[] a = x.get(i).tokenIds();
      long[] b = y.get(i).tokenIds();
      for (int t = 0; t < Math.min(a.length, b.length); t++) {
        n += a[t] != b[t] ? 1 : 0;
      }
    }
    return n;
  }

  @ParameterizedTest(name = "{0} base, dora={1}, {2}")
  @MethodSource("cases")
  void eachRowOfAMixedAdapterBatchGetsWhatItsAdapterGivesItAlone(Quantization quantization, boolean dora,
      RowAdapters.Strategy strategy) {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(TinyModels.llama(), 11, root, DataType.FLOAT32, quantization)) {
      List<Adapter> adapters = adapters(model, dora);
      Generator generator = new Generator(model, null, strategy);
      for (List<SamplingParams> params : List.of(greedy(), sampled())) {
        String mode = params.get(0).greedy() ? "greedy" : "sampled";
        SamplingParams baseParams = params.get(0).withSeed(7);
        List<List<Generation>> alone = new ArrayList<>();
        for (int g = 0; g < adapters.size(); g++) {
          alone.add(generator.generateIds(PROMPTS, adapters.get(g), params.get(g)));
        }
        alone.add(generator.generateIds(BASE_PROMPTS, null, baseParams));
        if (params.get(0).greedy()) {
          // The adapters must matter, or a row sent through the wrong one would pass unnoticed.
          List<Generation> baseOnPrompts = generator.generateIds(PROMPTS, null, SamplingParams.greedy(9));
          for (int g = 0; g < adapters.size(); g++) {
            assertTrue(differingTokens(alone.get(g), baseOnPrompts) > 0, "adapter " + g + " generates what the base does");
            for (int h = g + 1; h < adapters.size(); h++) {
              assertTrue(differingTokens(alone.get(g), alone.get(h)) > 0, "adapters " + g + " and " + h + " agree");
            }
          }
        }
        List<List<Generation>> batched = mixed(generator, adapters, params, baseParams);
        for (int g = 0; g <= adapters.size(); g++) {
          assertSameRows(alone.get(g), batched.get(g), mode + " group " + g);
        }
      }
    }
  }

  @Test
  void perRowLogProbsOfAMixedBatchEqualEachAdapterScoringAlone() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(TinyModels.llama(), 11, root)) {
      List<Adapter> adapters = adapters(model, true);
      List<long[]> responses = List.of(new long[] {1, 2, 3}, new long[] {4, 5}, new long[] {6, 7, 8, 9});
      List<long[]> prompts = new ArrayList<>();
      List<long[]> answers = new ArrayList<>();
      List<Adapter> perRow = new ArrayList<>();
      for (int i = 0; i < PROMPTS.size(); i++) {
        for (Adapter a : Arrays.asList(adapters.get(0), null, adapters.get(1), adapters.get(2))) {
          prompts.add(PROMPTS.get(i));
          answers.add(responses.get(i));
          perRow.add(a);
        }
      }
      List<float[]> mixed = LogProbs.scorePerRow(model, prompts, answers, perRow, 0.9);
      for (int r = 0; r < prompts.size(); r++) {
        float[] alone = LogProbs.score(model, List.of(prompts.get(r)), List.of(answers.get(r)), perRow.get(r), 0.9).get(0);
        assertArrayEquals(alone, mixed.get(r), 1e-5f, "row " + r);
      }
    }
  }

  @Test
  void aRequestSamplesTheSameTokensWhateverElseIsInItsBatch() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(TinyModels.llama(), 11, root)) {
      Generator generator = new Generator(model, null);
      SamplingParams params = SamplingParams.sample(12, 1.0, 42);
      List<Generation> alone = generator.generateIds(PROMPTS, null, params);
      // The same request's rows after another request's rows (seed 9), as a policy worker merges them.
      List<GenerationRow> rows = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        rows.add(new GenerationRow(new long[] {11, 12 + i}, null, params.withSeed(9), i));
      }
      for (int i = 0; i < PROMPTS.size(); i++) {
        rows.add(new GenerationRow(PROMPTS.get(i), null, params, i));
      }
      List<Generation> merged = generator.generateRows(rows).subList(4, 4 + PROMPTS.size());
      assertSameRows(alone, merged, "request");
      // Row i's stream is (seed, i): the same prompt in rows 0 and 1 samples two different continuations.
      List<Generation> twice = generator.generateIds(List.of(PROMPTS.get(0), PROMPTS.get(0)), null, params);
      assertArrayEquals(alone.get(0).tokenIds(), twice.get(0).tokenIds());
      assertFalse(Arrays.equals(twice.get(0).tokenIds(), twice.get(1).tokenIds()), "rows 0 and 1 drew the same stream");
    }
  }

  @Test
  void aGatheredBatchComputesTheLinearsBeyondItsBudgetSegmentedWithTheSameLogits() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(TinyModels.llama(), 11, root);
        NDManager step = root.newSubManager()) {
      List<Adapter> adapters = adapters(model, true);
      Batch batch = Batch.leftPadded(step, PROMPTS);
      float[] segmented;
      try (RowAdapters rows = RowAdapters.of(adapters, RowAdapters.Strategy.SEGMENTED, step)) {
        segmented = model.forwardPerRow(batch.ids(), batch.mask(), rows, false).toFloatArray();
        assertEquals(0, rows.gatheredBytes());
      }
      long all;
      try (RowAdapters rows = RowAdapters.of(adapters, RowAdapters.Strategy.GATHERED, step, Long.MAX_VALUE)) {
        assertArrayEquals(segmented, model.forwardPerRow(batch.ids(), batch.mask(), rows, false).toFloatArray(), 1e-4f);
        all = rows.gatheredBytes();
        assertTrue(all > 0, "nothing was gathered without a limit");
      }
      for (long budget : List.of(all / 2, 0L)) {
        try (RowAdapters rows = RowAdapters.of(adapters, RowAdapters.Strategy.GATHERED, step, budget)) {
          assertArrayEquals(segmented, model.forwardPerRow(batch.ids(), batch.mask(), rows, false).toFloatArray(), 1e-4f,
              "budget " + budget);
          assertTrue(rows.gatheredBytes() <= budget, rows.gatheredBytes() + " bytes gathered over a budget of " + budget);
          if (budget > 0) {
            assertTrue(rows.gatheredBytes() > 0, "half the budget gathered nothing");
          }
        }
      }
      assertThrows(IllegalArgumentException.class,
          () -> RowAdapters.of(adapters, RowAdapters.Strategy.GATHERED, step, -1));
    }
  }

  @Test
  void aMixedBatchRefusesTrainingAndAMismatchedRowCount() {
    try (NDManager root = NDManager.newBaseManager();
        CausalLm model = CausalLm.random(TinyModels.llama(), 11, root);
        NDManager step = root.newSubManager()) {
      List<Adapter> adapters = adapters(model, false);
      Batch batch = Batch.leftPadded(step, PROMPTS);
      try (RowAdapters two = RowAdapters.of(List.of(adapters.get(0), adapters.get(1)), RowAdapters.Strategy.SEGMENTED, step);
          RowAdapters three = RowAdapters.of(adapters, RowAdapters.Strategy.SEGMENTED, step)) {
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
            () -> model.forwardPerRow(batch.ids(), batch.mask(), two, false));
        assertTrue(rows.getMessage().contains("2 rows") && rows.getMessage().contains("3"), rows.getMessage());
        IllegalStateException training = assertThrows(IllegalStateException.class,
            () -> model.forwardPerRow(batch.ids(), batch.mask(), three, true));
        assertTrue(training.getMessage().contains("inference"), training.getMessage());
        NDArray logits = model.forwardPerRow(batch.ids(), batch.mask(), three, false);
        assertEquals(3, logits.getShape().get(0));
      }
    }
  }
}

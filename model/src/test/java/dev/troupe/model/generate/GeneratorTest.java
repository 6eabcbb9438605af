package dev.troupe.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.model.transformer.TinyModels;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GeneratorTest {
  static NDManager root;
  static CausalLm model;
  static final List<long[]> PROMPTS = List.of(new long[] {5, 9, 13, 2, 40}, new long[] {7}, new long[] {60, 61, 62});

  @BeforeAll
  static void setUp() {
    root = NDManager.newBaseManager();
    // A larger init spread than 0.02 gives peaked, seed-distinguishable distributions.
    model = CausalLm.random(TinyModels.llama(), 11, root);
  }

  @AfterAll
  static void tearDown() {
    model.close();
    root.close();
  }

  /** Greedy continuation by repeated full forward passes, no cache: the slow reference. */
  static long[] greedyByFullForward(long[] prompt, int steps) {
    long[] seq = prompt.clone();
    try (GradMode ignored = GradMode.disabled()) {
      for (int i = 0; i < steps; i++) {
        try (NDManager step = root.newSubManager()) {
          NDArray logits = model.forward(step.create(seq).reshape(1, seq.length), null, null, false);
          long next = logits.get(new NDIndex("0, -1, :")).argMax().getLong();
          seq = Arrays.copyOf(seq, seq.length + 1);
          seq[seq.length - 1] = next;
        }
      }
    }
    return Arrays.copyOfRange(seq, prompt.length, seq.length);
  }

  @Test
  void greedyBatchedGenerationEqualsFullForwardArgmaxPerRow() {
    List<Generation> out = new Generator(model, null).generateIds(PROMPTS, null, SamplingParams.greedy(8));
    for (int b = 0; b < PROMPTS.size(); b++) {
      assertArrayEquals(greedyByFullForward(PROMPTS.get(b), 8), out.get(b).tokenIds(), "row " + b);
      assertEquals(Generation.Finish.LENGTH, out.get(b).finish());
    }
  }

  @Test
  void seededSamplingIsReproducibleAndSeedsDiffer() {
    Generator generator = new Generator(model, null);
    SamplingParams params = SamplingParams.sample(12, 1.0, 42);
    List<Generation> first = generator.generateIds(PROMPTS, null, params);
    List<Generation> again = generator.generateIds(PROMPTS, null, params);
    List<Generation> other = generator.generateIds(PROMPTS, null, params.withSeed(43));
    boolean anyDifferent = false;
    for (int b = 0; b < PROMPTS.size(); b++) {
      assertArrayEquals(first.get(b).tokenIds(), again.get(b).tokenIds());
      anyDifferent |= !Arrays.equals(first.get(b).tokenIds(), other.get(b).tokenIds());
    }
    assertTrue(anyDifferent, "seed 43 drew exactly what seed 42 drew in all 36 tokens");
  }

  @Test
  void returnedLogProbsEqualScoringTheResponseAfterwards() {
    List<Generation> out = new Generator(model, null)
        .generateIds(PROMPTS, null, SamplingParams.sample(10, 1.0, 5).withTopK(20));
    List<float[]> scored = LogProbs.score(model, PROMPTS,
        out.stream().map(Generation::tokenIds).toList(), null, 1.0);
    for (int b = 0; b < PROMPTS.size(); b++) {
      float[] a = out.get(b).logProbs();
      float[] s = scored.get(b);
      assertEquals(a.length, s.length);
      for (int i = 0; i < a.length; i++) {
        assertEquals(s[i], a[i], 1e-4, "row " + b + " token " + i);
        assertTrue(a[i] <= 0);
      }
    }
  }

  @Test
  void topKOfOneIsGreedyAndTinyTopPIsGreedy() {
    Generator generator = new Generator(model, null);
    List<Generation> greedy = generator.generateIds(PROMPTS, null, SamplingParams.greedy(6));
    List<Generation> topK1 = generator.generateIds(PROMPTS, null, SamplingParams.sample(6, 1.3, 1).withTopK(1));
    List<Generation> topP = generator.generateIds(PROMPTS, null, SamplingParams.sample(6, 1.3, 2).withTopP(1e-6));
    for (int b = 0; b < PROMPTS.size(); b++) {
      assertArrayEquals(greedy.get(b).tokenIds(), topK1.get(b).tokenIds());
      assertArrayEquals(greedy.get(b).tokenIds(), topP.get(b).tokenIds());
    }
  }

  @Test
  void topKSamplesOnlyAmongTheKMostLikelyTokens() {
    int k = 3;
    List<Generation> out = new Generator(model, null)
        .generateIds(List.of(PROMPTS.get(0)), null, SamplingParams.sample(1, 5.0, 9).withTopK(k));
    try (GradMode ignored = GradMode.disabled(); NDManager step = root.newSubManager()) {
      long[] prompt = PROMPTS.get(0);
      NDArray logits = model.forward(step.create(prompt).reshape(1, prompt.length), null, null, false)
          .get(new NDIndex("0, -1, :"));
      long[] top = logits.topK(k, 0, true, true).get(1).toLongArray();
      long sampled = out.get(0).tokenIds()[0];
      assertTrue(Arrays.stream(top).anyMatch(t -> t == sampled), "sampled " + sampled + " not in top " + Arrays.toString(top));
    }
  }

  @Test
  void rowStopsAtItsStopTokenWhileOthersRunOn() {
    Generator generator = new Generator(model, null);
    List<Generation> free = generator.generateIds(PROMPTS, null, SamplingParams.greedy(8));
    long stop = free.get(0).tokenIds()[2];
    List<Generation> stopped = generator.generateIds(PROMPTS, null,
        SamplingParams.greedy(8).withStopTokens(List.of(stop)));
    Generation first = stopped.get(0);
    assertEquals(Generation.Finish.STOP_TOKEN, first.finish());
    int firstStop = 0;
    while (free.get(0).tokenIds()[firstStop] != stop) {
      firstStop++;
    }
    assertEquals(firstStop + 1, first.tokenIds().length, "the stop token is kept and ends the row");
    assertFalse(Arrays.stream(free.get(1).tokenIds()).limit(8).anyMatch(t -> t == stop)
            && stopped.get(1).finish() == Generation.Finish.LENGTH,
        "row 1 stops only if it also meets the stop token");
  }
}

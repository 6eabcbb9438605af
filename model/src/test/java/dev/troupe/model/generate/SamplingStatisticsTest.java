package dev.troupe.model.generate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.reference.ReferenceConfig;
import dev.troupe.model.reference.ReferenceSafetensors;
import dev.troupe.model.reference.ReferenceWeights;
import dev.troupe.model.reference.StoredType;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What sampling draws, measured: token frequencies over many seeded draws against the softmax the
 * model's logits give (Pearson's chi-squared at p = 0.001), the exact token sets top-k and top-p keep,
 * and stop tokens and stop strings ending only the row they occur in.
 */
@SuppressWarnings("try")
class SamplingStatisticsTest {
  private static final Logger LOG = LoggerFactory.getLogger(SamplingStatisticsTest.class);
  static final long[] PROMPT = {5, 17, 42, 9};
  static final int DRAWS = 20000;

  @TempDir static Path dir;
  static NDManager root;
  static CausalLm model;

  @BeforeAll
  static void load() throws IOException {
    // Realistic weight spread: the next-token distribution has a few likely tokens and a long tail.
    ReferenceConfig config = ReferenceConfig.llama();
    ReferenceSafetensors.writeCheckpoint(dir.resolve("model"), config, ReferenceWeights.random(config, 41),
        StoredType.F32, 1);
    root = NDManager.newBaseManager();
    model = HfModel.load(dir.resolve("model"), HfModel.LoadOptions.defaults(), root);
  }

  @AfterAll
  static void close() {
    model.close();
    root.close();
  }

  /** softmax(logits / temperature) of the prompt's next token, in double. */
  static double[] nextTokenDistribution(double temperature) {
    float[] logits;
    try (GradMode ignored = GradMode.disabled(); NDManager step = root.newSubManager()) {
      logits = model.forward(step.create(PROMPT, new Shape(1, PROMPT.length)), null, null, false)
          .get(new NDIndex("0, -1, :")).toFloatArray();
    }
    double max = Double.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l / temperature);
    }
    double[] p = new double[logits.length];
    double sum = 0;
    for (int v = 0; v < p.length; v++) {
      p[v] = Math.exp(logits[v] / temperature - max);
      sum += p[v];
    }
    for (int v = 0; v < p.length; v++) {
      p[v] /= sum;
    }
    return p;
  }

  /** How often each token came first in {@code draws} one-token generations of the prompt, one row each. */
  static int[] counts(SamplingParams params, int draws) {
    List<long[]> prompts = Collections.nCopies(draws, PROMPT);
    int[] counts = new int[model.config().vocabSize()];
    for (Generation g : new Generator(model, null).generateIds(prompts, null, params)) {
      counts[(int) g.tokenIds()[0]]++;
    }
    return counts;
  }

  /** p renormalised over {@code kept} and zero elsewhere. */
  static double[] restricted(double[] p, Set<Integer> kept) {
    double mass = kept.stream().mapToDouble(v -> p[v]).sum();
    double[] q = new double[p.length];
    kept.forEach(v -> q[v] = p[v] / mass);
    return q;
  }

  /**
   * Pearson's statistic of {@code counts} against {@code p}, tokens expected fewer than 5 times pooled
   * into one bin; returns {statistic, degrees of freedom}.
   */
  static double[] chiSquared(int[] counts, double[] p) {
    int n = Arrays.stream(counts).sum();
    double statistic = 0;
    int bins = 0;
    double pooledExpected = 0;
    int pooledCount = 0;
    for (int v = 0; v < p.length; v++) {
      double expected = n * p[v];
      if (expected >= 5) {
        statistic += (counts[v] - expected) * (counts[v] - expected) / expected;
        bins++;
      } else {
        pooledExpected += expected;
        pooledCount += counts[v];
      }
    }
    if (pooledExpected > 0) {
      statistic += (pooledCount - pooledExpected) * (pooledCount - pooledExpected) / pooledExpected;
      bins++;
    }
    return new double[] {statistic, bins - 1};
  }

  /** The chi-squared value exceeded with probability 0.001 (Wilson-Hilferty; z = 3.0902). */
  static double criticalValue(double degrees) {
    double a = 2 / (9 * degrees);
    return degrees * Math.pow(1 - a + 3.0902 * Math.sqrt(a), 3);
  }

  static void assertFrequenciesMatch(int[] counts, double[] p, String what) {
    double[] chi = chiSquared(counts, p);
    double critical = criticalValue(chi[1]);
    LOG.info("{}: chi-squared {} on {} degrees of freedom (p = 0.001 critical value {})", what, chi[0], chi[1], critical);
    assertTrue(chi[1] >= 3, what + ": too few bins for a test (" + chi[1] + " degrees of freedom)");
    assertTrue(chi[0] < critical, what + ": chi-squared " + chi[0] + " >= " + critical + " on " + chi[1] + " df");
  }

  static Set<Integer> sampled(int[] counts) {
    Set<Integer> tokens = new TreeSet<>();
    for (int v = 0; v < counts.length; v++) {
      if (counts[v] > 0) {
        tokens.add(v);
      }
    }
    return tokens;
  }

  /** Tokens in decreasing probability. */
  static List<Integer> ranked(double[] p) {
    List<Integer> order = new ArrayList<>();
    for (int v = 0; v < p.length; v++) {
      order.add(v);
    }
    order.sort((a, b) -> Double.compare(p[b], p[a]));
    return order;
  }

  @Test
  void sampledFrequenciesMatchTheSoftmaxAtTheTemperature() {
    for (double temperature : new double[] {1.0, 1.7}) {
      double[] p = nextTokenDistribution(temperature);
      int[] counts = counts(SamplingParams.sample(1, temperature, 11), DRAWS);
      assertFrequenciesMatch(counts, p, "temperature " + temperature);
    }
  }

  @Test
  void topKDrawsExactlyTheKMostLikelyTokensInProportion() {
    int k = 6;
    double temperature = 1.5;
    double[] p = nextTokenDistribution(temperature);
    Set<Integer> top = new TreeSet<>(ranked(p).subList(0, k));
    double[] q = restricted(p, top);
    assertTrue(top.stream().allMatch(v -> q[v] * DRAWS > 50), "every kept token is expected 50+ times: " + top);
    int[] counts = counts(SamplingParams.sample(1, temperature, 12).withTopK(k), DRAWS);
    assertEquals(top, sampled(counts), "tokens drawn with top-k " + k);
    assertFrequenciesMatch(counts, q, "top-k " + k);
  }

  @Test
  void topPDrawsExactlyTheNucleusInProportion() {
    double temperature = 1.5;
    double[] p = nextTokenDistribution(temperature);
    for (double topP : new double[] {0.5, 0.7}) {
      // The nucleus: tokens in decreasing probability while the mass before them is below p
      // (transformers' TopPLogitsWarper keeps the same set).
      Set<Integer> nucleus = new TreeSet<>();
      double before = 0;
      for (int v : ranked(p)) {
        assertTrue(Math.abs(before - topP) > 1e-3, "mass " + before + " too close to p = " + topP + " to decide");
        if (before >= topP) {
          break;
        }
        nucleus.add(v);
        before += p[v];
      }
      double[] q = restricted(p, nucleus);
      assertTrue(nucleus.size() >= 3 && nucleus.size() < p.length / 2, "a mid-range nucleus: " + nucleus);
      assertTrue(nucleus.stream().allMatch(v -> q[v] * DRAWS > 50), "every kept token is expected 50+ times");
      int[] counts = counts(SamplingParams.sample(1, temperature, 13).withTopP(topP), DRAWS);
      assertEquals(nucleus, sampled(counts), "tokens drawn with top-p " + topP);
      assertFrequenciesMatch(counts, q, "top-p " + topP);
    }
  }

  @Test
  void topKAndTopPTogetherKeepTheSmallerSet() {
    double temperature = 1.5;
    double[] p = nextTokenDistribution(temperature);
    List<Integer> order = ranked(p);
    // p = 0.95 alone keeps many tokens; k = 4 cuts that to the four most likely.
    int[] counts = counts(SamplingParams.sample(1, temperature, 14).withTopK(4).withTopP(0.95), 4000);
    assertEquals(new TreeSet<>(order.subList(0, 4)), sampled(counts));
  }

  /**
   * A batch of three seeded rows: a stop token that only row 0 draws ends row 0 there, one that only
   * row 2 draws ends row 2 later, and every token of every row up to its end is what the same seed
   * draws without stops (each row's uniform numbers do not depend on which rows are still running).
   */
  @Test
  void stopTokensEndOnlyTheirOwnRowsAndTheOthersRunOnUnchanged() {
    try (CausalLm flat = CausalLm.random(ModelConfig.llama(258, 32, 2, 4, 2, 64, 64), 3, root)) {
      Generator generator = new Generator(flat, null);
      List<long[]> prompts = List.of(new long[] {1, 2, 3}, new long[] {4, 5}, new long[] {6, 7, 8, 9});
      SamplingParams params = SamplingParams.sample(16, 1.0, 21);
      List<Generation> free = generator.generateIds(prompts, null, params);
      // Row 0's first token (from the third on) that no other row draws, and row 2's first one after it.
      int at0 = firstOwnToken(free, 0, 2);
      int at2 = firstOwnToken(free, 2, at0 + 3);
      long stop0 = free.get(0).tokenIds()[at0];
      long stop2 = free.get(2).tokenIds()[at2];

      List<Generation> stopped = generator.generateIds(prompts, null, params.withStopTokens(List.of(stop0, stop2)));
      assertEquals(Generation.Finish.STOP_TOKEN, stopped.get(0).finish());
      assertArrayEquals(Arrays.copyOf(free.get(0).tokenIds(), at0 + 1), stopped.get(0).tokenIds(), "row 0");
      assertEquals(Generation.Finish.LENGTH, stopped.get(1).finish());
      assertArrayEquals(free.get(1).tokenIds(), stopped.get(1).tokenIds(), "row 1 runs all 16 tokens unchanged");
      assertEquals(16, stopped.get(1).tokenIds().length);
      assertEquals(Generation.Finish.STOP_TOKEN, stopped.get(2).finish());
      assertArrayEquals(Arrays.copyOf(free.get(2).tokenIds(), at2 + 1), stopped.get(2).tokenIds(), "row 2");
      for (int b = 0; b < 3; b++) {
        assertArrayEquals(Arrays.copyOf(free.get(b).logProbs(), stopped.get(b).logProbs().length),
            stopped.get(b).logProbs(), "row " + b + " log-probs");
      }
    }
  }

  /**
   * A stop string that only row 0's text contains ends row 0 on the token that completes it, the
   * text cut before it; the other rows run to the length limit, token for token as without it.
   */
  @Test
  void stopStringEndsOnlyTheRowWhoseTextContainsIt() throws IOException {
    try (Tokenizer bytes = Tokenizer.load(Tokenizer.writeByteLevel(dir.resolve("tokenizer.json"), List.of("<s>", "</s>")));
        CausalLm flat = CausalLm.random(ModelConfig.llama(258, 32, 2, 4, 2, 64, 64), 3, root)) {
      Generator generator = new Generator(flat, bytes);
      List<long[]> prompts = List.of(new long[] {256, 72}, new long[] {256, 105}, new long[] {256, 33, 63});
      SamplingParams params = SamplingParams.sample(32, 1.0, 22);
      List<Generation> free = generator.generateIds(prompts, null, params);
      // The first two printable ASCII bytes in a row of row 0 whose pair no other row's text shows.
      long[] row0 = free.get(0).tokenIds();
      int end = -1;
      String stop = null;
      for (int j = 1; j < row0.length && stop == null; j++) {
        if (printable(row0[j - 1]) && printable(row0[j])) {
          String pair = "" + (char) row0[j - 1] + (char) row0[j];
          String before = bytes.decode(Arrays.copyOf(row0, j));
          if (!before.contains(pair) && !free.get(1).text().contains(pair) && !free.get(2).text().contains(pair)) {
            stop = pair;
            end = j;
          }
        }
      }
      assertTrue(stop != null, "seed 22 draws no printable pair for row 0 alone: " + free.get(0).text());

      List<Generation> stopped = generator.generateIds(prompts, null, params.withStopStrings(List.of(stop)));
      Generation first = stopped.get(0);
      assertEquals(Generation.Finish.STOP_STRING, first.finish());
      assertArrayEquals(Arrays.copyOf(row0, end + 1), first.tokenIds(), "row 0 ends on the token completing '" + stop + "'");
      assertEquals(bytes.decode(Arrays.copyOf(row0, end - 1)), first.text(), "row 0's text stops before '" + stop + "'");
      for (int b = 1; b < 3; b++) {
        assertEquals(Generation.Finish.LENGTH, stopped.get(b).finish(), "row " + b);
        assertArrayEquals(free.get(b).tokenIds(), stopped.get(b).tokenIds(), "row " + b);
        assertEquals(free.get(b).text(), stopped.get(b).text(), "row " + b);
      }
    }
  }

  /** The first index from {@code from} on whose token first appears there in {@code row} and in no other row. */
  private static int firstOwnToken(List<Generation> rows, int row, int from) {
    long[] tokens = rows.get(row).tokenIds();
    for (int j = from; j < tokens.length; j++) {
      long token = tokens[j];
      boolean own = indexOf(tokens, token) == j;
      for (int other = 0; other < rows.size() && own; other++) {
        own = other == row || indexOf(rows.get(other).tokenIds(), token) == -1;
      }
      if (own) {
        return j;
      }
    }
    throw new AssertionError("row " + row + " draws no token of its own after " + from);
  }

  private static boolean printable(long token) {
    return token > ' ' && token <= '~';
  }

  private static int indexOf(long[] tokens, long token) {
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i] == token) {
        return i;
      }
    }
    return -1;
  }
}

package dev.troupe.actors.judge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Comparison;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A judge model from a Hugging Face folder, prompted with the loop's rubric (Lee et al. 2023, "RLAIF"): it reads
 * the comparison with the responses as "Response A" and "Response B" and the next-token logits of "A" and "B"
 * give its preference. Each comparison is read in both orders and the two preferences averaged, so that a
 * model's bias toward a position cancels.
 *
 * <p>A verdict is a function of the unordered pair: the two orders are computed in one canonical arrangement
 * (the renderings sorted as text), so judging (y, x) gives exactly the mirror of (x, y).
 */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
final class LocalJudge implements Judge {
  /** Rows per forward pass: an even number, so that a comparison's two orders always share a batch. */
  private static final int ROWS_PER_FORWARD = 16;

  private final String id;
  private final String rubric;
  private final String rubricSha256;
  private final CausalLm model;
  private final Tokenizer tokenizer;
  private final NDManager root;

  /** The prompt of one order of one comparison, and the ids of the two verdict tokens after it. */
  record Row(String text, long[] ids, long tokenA, long tokenB) {}

  private LocalJudge(String id, String rubric, CausalLm model, Tokenizer tokenizer, NDManager root) {
    this.id = id;
    this.rubric = rubric;
    this.rubricSha256 = Comparisons.sha256(rubric);
    this.model = model;
    this.tokenizer = tokenizer;
    this.root = root;
  }

  /** Loads the model (fp32) and its tokenizer.json from {@code dir}. */
  static LocalJudge load(Path dir, String rubric) {
    NDManager root = NDManager.newBaseManager();
    try {
      CausalLm model = HfModel.load(dir, HfModel.LoadOptions.defaults(), root);
      Tokenizer tokenizer = Tokenizer.load(dir);
      return new LocalJudge("local:" + dir.toAbsolutePath().normalize().getFileName(), rubric, model, tokenizer,
          root);
    } catch (IOException e) {
      root.close();
      throw new UncheckedIOException("local judge: cannot load the model folder " + dir + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String id() {
    return id;
  }

  @Override
  public String rubricSha256() {
    return rubricSha256;
  }

  @Override
  public List<Verdict> judge(List<Comparison> comparisons) {
    List<Row> rows = new ArrayList<>();
    int[] firstRow = new int[comparisons.size()]; // -1: identical renderings, a tie without a forward pass
    boolean[] canonicalIsGiven = new boolean[comparisons.size()];
    for (int i = 0; i < comparisons.size(); i++) {
      Comparison c = comparisons.get(i);
      Comparisons.requirePair(c);
      String prompt = c.getPrompt().getText();
      String x = c.getResponses(0).getText();
      String y = c.getResponses(1).getText();
      Row xy = encode(tokenizer, rubric, prompt, x, y);
      Row yx = encode(tokenizer, rubric, prompt, y, x);
      int comparison = xy.text().compareTo(yx.text());
      if (comparison == 0) {
        firstRow[i] = -1;
        continue;
      }
      canonicalIsGiven[i] = comparison < 0;
      firstRow[i] = rows.size();
      rows.add(canonicalIsGiven[i] ? xy : yx);
      rows.add(canonicalIsGiven[i] ? yx : xy);
      for (Row row : List.of(xy, yx)) {
        if (row.ids().length > model.config().maxPositions()) {
          throw new IllegalArgumentException("local judge " + id + ": comparison " + c.getId() + " renders to "
              + row.ids().length + " tokens, more than the model's " + model.config().maxPositions() + " positions");
        }
      }
    }
    double[] pA = probabilityOfA(rows);
    List<Verdict> verdicts = new ArrayList<>(comparisons.size());
    for (int i = 0; i < comparisons.size(); i++) {
      if (firstRow[i] < 0) {
        verdicts.add(Verdict.fromProbability(comparisons.get(i), 0.5));
        continue;
      }
      // P(the canonical first response is better), from its turn as A and its turn as B.
      double canonical = Comparisons.firstBetter(pA[firstRow[i]], pA[firstRow[i] + 1]);
      verdicts.add(Verdict.fromProbability(comparisons.get(i), canonicalIsGiven[i] ? canonical : 1 - canonical));
    }
    return verdicts;
  }

  /**
   * P("A") / (P("A") + P("B")) at the end of each row: the verdict tokens' share of the next-token distribution,
   * which is σ(logit A − logit B), so the rest of the vocabulary drops out.
   */
  double[] probabilityOfA(List<Row> rows) {
    double[] pA = new double[rows.size()];
    for (int start = 0; start < rows.size(); start += ROWS_PER_FORWARD) {
      List<Row> chunk = rows.subList(start, Math.min(rows.size(), start + ROWS_PER_FORWARD));
      try (GradMode ignored = GradMode.disabled(); NDManager step = model.manager().newSubManager()) {
        Batch batch = Batch.leftPadded(step, chunk.stream().map(Row::ids).toList());
        NDArray last = model.forward(batch.ids(), batch.mask(), null, false).get(new NDIndex(":, -1, :"));
        int vocab = Math.toIntExact(last.getShape().get(1));
        float[] logits = last.toFloatArray();
        for (int r = 0; r < chunk.size(); r++) {
          double margin = logits[r * vocab + (int) chunk.get(r).tokenB()] - logits[r * vocab + (int) chunk.get(r).tokenA()];
          pA[start + r] = 1 / (1 + Math.exp(margin));
        }
      }
    }
    return pA;
  }

  /**
   * The judge's prompt for one order (the rubric, the comparison, "Answer:") as ids, and the verdict tokens that
   * follow it: " A" and " B" where the tokenizer spells each as one token after the prompt (BPE vocabularies),
   * else "A" and "B" (a byte-level one).
   */
  static Row encode(Tokenizer tokenizer, String rubric, String prompt, String responseA, String responseB) {
    String text = rubric.strip() + "\n\n" + Comparisons.question(prompt, responseA, responseB) + "\nAnswer:";
    long[] context = withBos(tokenizer, tokenizer.encode(text));
    for (String space : List.of(" ", "")) {
      long[] a = withBos(tokenizer, tokenizer.encode(text + space + "A"));
      long[] b = withBos(tokenizer, tokenizer.encode(text + space + "B"));
      if (extendsByOne(context, a) && extendsByOne(context, b)) {
        return new Row(text, context, a[a.length - 1], b[b.length - 1]);
      }
    }
    throw new IllegalArgumentException("local judge: the tokenizer spells neither ' A' nor 'A' (and 'B') as one"
        + " token after the judge's prompt");
  }

  private static long[] withBos(Tokenizer tokenizer, long[] ids) {
    if (tokenizer.bosId().isEmpty() || (ids.length > 0 && ids[0] == tokenizer.bosId().getAsLong())) {
      return ids;
    }
    long[] out = new long[ids.length + 1];
    out[0] = tokenizer.bosId().getAsLong();
    System.arraycopy(ids, 0, out, 1, ids.length);
    return out;
  }

  private static boolean extendsByOne(long[] prefix, long[] ids) {
    return ids.length == prefix.length + 1 && Arrays.equals(prefix, 0, prefix.length, ids, 0, prefix.length);
  }

  @Override
  public void close() {
    tokenizer.close();
    model.close();
    root.close();
  }
}

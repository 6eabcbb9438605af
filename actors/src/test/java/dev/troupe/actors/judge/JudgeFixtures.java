package dev.troupe.actors.judge;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import dev.troupe.actors.config.JudgeSettings;
import dev.troupe.algorithms.optim.AdamW;
import dev.troupe.algorithms.optim.AdamW.AdamWConfig;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.config.ModelConfig;
import dev.troupe.model.transformer.Batch;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.Comparison;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Comparisons, judge settings and tiny trainable judge models that the judge tests share. */
@SuppressWarnings("try") // GradMode scopes are opened for their effect and never referenced
final class JudgeFixtures {
  static final String RUBRIC = "Pick the better response.";

  private JudgeFixtures() {}

  /** A comparison of two responses, ids "a" and "b". */
  static Comparison comparison(String id, String prompt, String first, String second) {
    return comparison(id, prompt, "a", first, "b", second);
  }

  static Comparison comparison(String id, String prompt, String firstId, String first, String secondId,
      String second) {
    return Comparison.newBuilder()
        .setId(id)
        .setPrompt(Prompt.newBuilder().setId(id + "/prompt").setText(prompt))
        .addResponses(Response.newBuilder().setId(firstId).setText(first))
        .addResponses(Response.newBuilder().setId(secondId).setText(second))
        .build();
  }

  /** The same comparison with its responses the other way round. */
  static Comparison swapped(Comparison c) {
    return c.toBuilder().clearResponses().addResponses(c.getResponses(1)).addResponses(c.getResponses(0)).build();
  }

  static JudgeSettings settings(String kind, String model, String url, int retries, int concurrency) {
    return new JudgeSettings(kind, RUBRIC, 0.1, model, url, null, Duration.ofSeconds(5), retries, concurrency);
  }

  /** A Llama of hidden 64, 2 layers, over the quickstart's byte-level vocabulary (259), 256 positions. */
  static ModelConfig tinyJudge() {
    return ModelConfig.llama(259, 64, 2, 4, 2, 128, 256);
  }

  /**
   * Trains every weight of {@code model} so that after each row's prompt the next token is its target: batches
   * of 16 rows in turn, AdamW at {@code lr}, cross-entropy at the last position only.
   */
  static void trainVerdicts(CausalLm model, List<LocalJudge.Row> rows, List<Long> targets, int steps, double lr,
      NDManager root) {
    List<NDArray> params = model.baseParameters();
    params.forEach(p -> p.setRequiresGradient(true));
    try (AdamW optimizer = new AdamW(params, AdamWConfig.defaults().withLr(lr))) {
      for (int step = 0; step < steps; step++) {
        List<long[]> ids = new ArrayList<>();
        long[] wanted = new long[16];
        for (int i = 0; i < 16; i++) {
          int row = (step * 16 + i) % rows.size();
          ids.add(rows.get(row).ids());
          wanted[i] = targets.get(row);
        }
        try (NDManager scratch = root.newSubManager()) {
          try (GradMode ignored = GradMode.enabled()) {
            Batch batch = Batch.leftPadded(scratch, ids);
            NDArray last = model.forward(batch.ids(), batch.mask(), null, true).get(new NDIndex(":, -1, :"));
            NDArray loss = last.logSoftmax(-1).gather(scratch.create(wanted).expandDims(-1), -1).mean().neg();
            GradMode.backward(loss);
          }
        }
        optimizer.step();
      }
    } finally {
      params.forEach(p -> p.setRequiresGradient(false));
    }
  }
}

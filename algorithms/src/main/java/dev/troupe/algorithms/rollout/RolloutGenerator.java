package dev.troupe.algorithms.rollout;

import dev.troupe.model.generate.Generation;
import dev.troupe.model.generate.GenerationRow;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import dev.troupe.protocol.FinishReason;
import dev.troupe.protocol.GenerateRequest;
import dev.troupe.protocol.Prompt;
import dev.troupe.protocol.Rollout;
import java.util.ArrayList;
import java.util.List;

/**
 * Samples a {@link GenerateRequest} into {@link Rollout}s that carry what a learner elsewhere needs:
 * tokens, behaviour log-probs at the sampling temperature, the adapter version, a group per prompt,
 * the finish reason and ids derived from the request (a reissued request makes the same ids).
 */
public final class RolloutGenerator {
  /** Rows per generation call: bounds the KV cache of a large request (an evaluation of 1,000 prompts). */
  public static final int CHUNK_ROWS = 1024;

  private final Generator generator;
  private final String worker;

  /** {@code tokenizer} decodes texts (null: rollouts carry no text); {@code worker} names the sampler in each rollout. */
  public RolloutGenerator(CausalLm model, Tokenizer tokenizer, String worker) {
    this.generator = new Generator(model, tokenizer);
    this.worker = worker;
  }

  /**
   * The request's samples with {@code adapter} (null: the base) at {@code version}: prompt i's
   * {@code samples_per_prompt} rollouts are consecutive and share the group id
   * {@code <request id>/<i>}; rollout ids are {@code <idPrefix><request id>/<row>}. Row r samples from
   * the stream of (seed, r), so the rollouts do not depend on how rows are cut into chunks or batched
   * with other requests.
   */
  public List<Rollout> generate(GenerateRequest request, Adapter adapter, long version, String idPrefix) {
    List<GenerationRow> rows = rows(request, adapter);
    List<Generation> generations = new ArrayList<>(rows.size());
    for (int from = 0; from < rows.size(); from += CHUNK_ROWS) {
      generations.addAll(generator.generateRows(rows.subList(from, Math.min(rows.size(), from + CHUNK_ROWS))));
    }
    return rollouts(request, generations, version, idPrefix, worker);
  }

  /**
   * The generation rows of a request: each prompt {@code samples_per_prompt} times, row r with
   * {@code adapter} (null: the base) and stream index r. Throws naming the request for a prompt
   * without tokens or sampling parameters out of range.
   */
  public static List<GenerationRow> rows(GenerateRequest request, Adapter adapter) {
    int perPrompt = Math.max(1, request.getSamplesPerPrompt());
    SamplingParams sampling;
    try {
      sampling = sampling(request.getSampling());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("request " + request.getRequestId() + ": " + e.getMessage(), e);
    }
    List<GenerationRow> rows = new ArrayList<>();
    for (Prompt p : request.getPromptsList()) {
      if (p.getTokenIdsCount() == 0) {
        throw new IllegalArgumentException("prompt " + p.getId() + " of request " + request.getRequestId()
            + " has no token ids");
      }
      long[] ids = p.getTokenIdsList().stream().mapToLong(Long::longValue).toArray();
      for (int s = 0; s < perPrompt; s++) {
        rows.add(new GenerationRow(ids, adapter, sampling, rows.size()));
      }
    }
    return rows;
  }

  /**
   * The rollouts of a request from its rows' generations (in row order), recording {@code version}
   * of the request's adapter and {@code worker} as the sampler.
   */
  public static List<Rollout> rollouts(GenerateRequest request, List<Generation> generations, long version,
      String idPrefix, String worker) {
    int perPrompt = Math.max(1, request.getSamplesPerPrompt());
    double temperature = request.getSampling().getTemperature();
    List<Rollout> out = new ArrayList<>(generations.size());
    for (int row = 0; row < generations.size(); row++) {
      Generation g = generations.get(row);
      Rollout.Builder r = Rollout.newBuilder()
          .setId(idPrefix + request.getRequestId() + "/" + row)
          .setPrompt(request.getPrompts(row / perPrompt))
          .setTemperature(temperature)
          .setAdapter(request.getAdapter())
          .setAdapterVersion(version)
          .setGroupId(request.getRequestId() + "/" + row / perPrompt)
          .setFinishReason(finish(g.finish()))
          .setText(g.text())
          .setWorker(worker);
      for (long id : g.tokenIds()) {
        r.addResponseTokenIds(id);
      }
      for (float lp : g.logProbs()) {
        r.addBehaviourLogprobs(lp);
      }
      out.add(r.build());
    }
    return out;
  }

  /** The model's sampling parameters for the protocol's. */
  public static SamplingParams sampling(dev.troupe.protocol.SamplingParams p) {
    return new SamplingParams(p.getMaxNewTokens(), p.getTemperature(), p.getTopK(),
        p.getTopP() == 0 ? 1.0 : p.getTopP(), p.getSeed(), p.getStopTokenIdsList(), p.getStopStringsList());
  }

  /** The protocol's sampling parameters for the model's. */
  public static dev.troupe.protocol.SamplingParams sampling(SamplingParams p) {
    return dev.troupe.protocol.SamplingParams.newBuilder().setMaxNewTokens(p.maxNewTokens())
        .setTemperature(p.temperature()).setTopK(p.topK()).setTopP(p.topP()).setSeed(p.seed())
        .addAllStopTokenIds(p.stopTokenIds()).addAllStopStrings(p.stopStrings()).build();
  }

  private static FinishReason finish(Generation.Finish finish) {
    return switch (finish) {
      case STOP_TOKEN -> FinishReason.FINISH_REASON_STOP_TOKEN;
      case STOP_STRING -> FinishReason.FINISH_REASON_STOP_STRING;
      case LENGTH -> FinishReason.FINISH_REASON_LENGTH;
    };
  }
}

package dev.troupe.model.generate;

import dev.troupe.model.lora.Adapter;

/**
 * One row of a generation batch whose rows may come from different requests: its prompt, the
 * adapter it samples with (null: the base), how it samples, and its index in its own request, which
 * with the request's seed picks the row's random stream. A row thus samples exactly what it would
 * sample in its request alone.
 *
 * @param streamIndex the row's index within its request (0 for a request's first row)
 */
public record GenerationRow(long[] prompt, Adapter adapter, SamplingParams params, int streamIndex) {
  public GenerationRow {
    if (prompt == null || prompt.length == 0) {
      throw new IllegalArgumentException("an empty prompt cannot be continued (give at least one token, e.g. BOS)");
    }
    if (params == null) {
      throw new IllegalArgumentException("a generation row needs sampling params");
    }
    if (streamIndex < 0) {
      throw new IllegalArgumentException("streamIndex must be >= 0, got " + streamIndex);
    }
  }
}

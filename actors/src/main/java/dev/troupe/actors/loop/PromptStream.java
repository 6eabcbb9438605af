package dev.troupe.actors.loop;

import dev.troupe.protocol.Prompt;
import java.util.ArrayList;
import java.util.List;

/**
 * A loop's prompts in a fixed order, read batch by batch: batch k (1-based) of size B is the
 * positions (k−1)·B … k·B−1, wrapping around the list, and each prompt's id names the loop and its
 * absolute position, so a batch is the same after a resume and its rollouts get the same ids.
 */
public final class PromptStream {
  private final List<Prompt> prompts;

  /** {@code prompts} in stream order (their ids are replaced by stream positions). */
  public PromptStream(List<Prompt> prompts) {
    if (prompts.isEmpty()) {
      throw new IllegalArgumentException("a prompt stream needs at least one prompt");
    }
    this.prompts = List.copyOf(prompts);
  }

  public int size() {
    return prompts.size();
  }

  /** Batch {@code batch} (1-based) of {@code size} prompts for {@code loop}. */
  public List<Prompt> batch(String loop, long batch, int size) {
    List<Prompt> out = new ArrayList<>(size);
    for (long position = (batch - 1) * size; position < batch * size; position++) {
      Prompt p = prompts.get((int) (position % prompts.size()));
      out.add(p.toBuilder().setId(loop + "/" + position).build());
    }
    return out;
  }

  /** The prompt at stream index {@code index} (for an id "loop/position": position mod size). */
  public Prompt at(long position) {
    return prompts.get((int) (position % prompts.size()));
  }
}

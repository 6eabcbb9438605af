package dev.troupe.actors.loop;

import dev.troupe.algorithms.data.TokenCodec;
import dev.troupe.algorithms.task.QuickstartTask;
import dev.troupe.algorithms.task.TaskPrompt;
import dev.troupe.model.generate.SamplingParams;
import java.util.List;

/**
 * The quickstart task's hidden gold scorer, as a loop sees it: the held-out prompts every evaluation
 * samples, and the task prompt behind each position of the loops' prompt stream.
 */
public record QuickstartGold(QuickstartTask task, TokenCodec codec, List<TaskPrompt> heldOut,
    List<TaskPrompt> trainPrompts, SamplingParams sampling) {

  /** The task prompt at a stream position (prompt ids are "loop/position"). */
  public TaskPrompt trainPrompt(String promptId) {
    long position = Long.parseLong(promptId.substring(promptId.lastIndexOf('/') + 1));
    return trainPrompts.get((int) (position % trainPrompts.size()));
  }
}

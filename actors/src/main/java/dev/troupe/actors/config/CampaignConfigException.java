package dev.troupe.actors.config;

import java.util.List;

/**
 * Every problem found in a campaign file and its {@code --set} overrides, one per line, each naming where it is
 * ("file:line: " or "--set key: "), the key path and what is wrong.
 */
public final class CampaignConfigException extends IllegalArgumentException {
  private static final long serialVersionUID = 1L;

  private final List<String> problems;

  public CampaignConfigException(List<String> problems) {
    super(String.join("\n", problems));
    this.problems = List.copyOf(problems);
  }

  /** The problems in the order found: the file's unknown keys first, then values, then combinations. */
  public List<String> problems() {
    return problems;
  }
}

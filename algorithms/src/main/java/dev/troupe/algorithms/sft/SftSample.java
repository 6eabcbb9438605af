package dev.troupe.algorithms.sft;

/** One tokenized SFT example: the prompt (not learned when masked) and the completion to learn. */
public record SftSample(long[] prompt, long[] completion) {
  public SftSample {
    if (completion.length == 0) {
      throw new IllegalArgumentException("an SFT example needs a non-empty completion");
    }
  }

  public int length() {
    return prompt.length + completion.length;
  }
}

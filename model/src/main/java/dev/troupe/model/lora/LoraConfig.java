package dev.troupe.model.lora;

import java.util.List;

/**
 * One adapter's hyper-parameters, PEFT's LoraConfig in spirit.
 *
 * @param targets module names the adapter wraps: short (q, k, v, o, gate, up, down) or full HF
 *     names (q_proj, c_attn, c_proj, c_fc); matched as a suffix of the module path, like PEFT
 * @param useRsLora scale by alpha / sqrt(rank) instead of alpha / rank (Kalajdzievski 2023)
 * @param useDora weight-decomposed LoRA (Liu et al. 2024): a trained magnitude per output row
 */
public record LoraConfig(
    int rank, double alpha, double dropout, List<String> targets, boolean useRsLora, boolean useDora) {

  public LoraConfig {
    if (rank <= 0) {
      throw new IllegalArgumentException("adapter.rank must be positive, got " + rank);
    }
    if (dropout < 0 || dropout >= 1) {
      throw new IllegalArgumentException("adapter.dropout must be in [0, 1), got " + dropout);
    }
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("adapter.targets must name at least one module");
    }
    targets = List.copyOf(targets);
  }

  public static LoraConfig of(int rank, double alpha, String... targets) {
    return new LoraConfig(rank, alpha, 0.0, List.of(targets), false, false);
  }

  public LoraConfig withDora(boolean dora) {
    return new LoraConfig(rank, alpha, dropout, targets, useRsLora, dora);
  }

  public LoraConfig withRsLora(boolean rs) {
    return new LoraConfig(rank, alpha, dropout, targets, rs, useDora);
  }

  public LoraConfig withDropout(double p) {
    return new LoraConfig(rank, alpha, p, targets, useRsLora, useDora);
  }

  /** The factor applied to B·A·x. */
  public double scaling() {
    return useRsLora ? alpha / Math.sqrt(rank) : alpha / rank;
  }

  /** Whether a module at {@code modulePath} (e.g. model.layers.0.self_attn.q_proj) is wrapped. */
  public boolean targets(String modulePath) {
    String leaf = modulePath.substring(modulePath.lastIndexOf('.') + 1);
    for (String t : targets) {
      String full = expand(t);
      if (leaf.equals(full) || modulePath.equals(full) || modulePath.endsWith("." + full)) {
        return true;
      }
    }
    return false;
  }

  /** Short Llama names (q, k, v, o, gate, up, down) stand for HF's q_proj ... down_proj. */
  static String expand(String target) {
    return switch (target) {
      case "q", "k", "v", "o", "gate", "up", "down" -> target + "_proj";
      default -> target;
    };
  }
}

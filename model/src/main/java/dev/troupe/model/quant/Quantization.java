package dev.troupe.model.quant;

import java.util.Locale;

/** How the frozen base's linear weights are stored: as they are, 8-bit per row, or QLoRA's 4-bit NormalFloat. */
public enum Quantization {
  NONE,
  INT8,
  NF4;

  /** Parses the config value ({@code none | int8 | nf4}); the message lists the accepted values. */
  public static Quantization parse(String value) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown quantization '" + value + "' (expected one of: none, int8, nf4)", e);
    }
  }
}

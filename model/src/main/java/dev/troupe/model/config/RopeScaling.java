package dev.troupe.model.config;

/**
 * config.json's rope_scaling: how the rotary inverse frequencies theta^(-2i/d) are rescaled for
 * longer contexts. {@code linear} divides them all by the factor (positions divided by it);
 * {@code llama3} (Llama 3.1 and later) divides only the long wavelengths, keeps the short ones and
 * interpolates between, as transformers' _compute_llama3_parameters does.
 *
 * @param type none, linear or llama3
 * @param lowFreqFactor llama3: wavelengths above original_max_position_embeddings / this are divided
 * @param highFreqFactor llama3: wavelengths below original_max_position_embeddings / this are kept
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor,
    int originalMaxPositions) {
  public static final RopeScaling NONE = new RopeScaling("none", 1, 0, 0, 0);

  public static RopeScaling linear(double factor) {
    return new RopeScaling("linear", factor, 0, 0, 0);
  }

  public static RopeScaling llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {
    return new RopeScaling("llama3", factor, lowFreqFactor, highFreqFactor, originalMaxPositions);
  }

  /** The rescaled inverse frequency of each of the head's {@code headDim / 2} rotary pairs. */
  public double[] inverseFrequencies(int headDim, double theta) {
    double[] inv = new double[headDim / 2];
    for (int i = 0; i < inv.length; i++) {
      inv[i] = 1.0 / Math.pow(theta, (2.0 * i) / headDim);
    }
    switch (type) {
      case "linear" -> {
        for (int i = 0; i < inv.length; i++) {
          inv[i] /= factor;
        }
      }
      case "llama3" -> {
        double lowFreqWavelen = originalMaxPositions / lowFreqFactor;
        double highFreqWavelen = originalMaxPositions / highFreqFactor;
        for (int i = 0; i < inv.length; i++) {
          double wavelen = 2 * Math.PI / inv[i];
          if (wavelen > lowFreqWavelen) {
            inv[i] /= factor;
          } else if (wavelen >= highFreqWavelen) {
            double smooth = (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            inv[i] = (1 - smooth) * inv[i] / factor + smooth * inv[i];
          }
        }
      }
      default -> { }
    }
    return inv;
  }
}

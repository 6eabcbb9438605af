package dev.troupe.actors.campaign;

import dev.troupe.protocol.CampaignAssets;
import java.util.Arrays;
import java.util.function.UnaryOperator;

/**
 * How the campaign reward model's raw scores become what loops read: {@code (raw - shift) / scale}
 * when on (the quickstart's mean and std over the reward model's own training responses), so that a
 * KL coefficient means the same whatever the model learned.
 */
public record Normalization(boolean on, double shift, double scale) implements UnaryOperator<double[]> {
  public static final Normalization NONE = new Normalization(false, 0, 1);

  public Normalization {
    if (on && !(scale > 0)) {
      throw new IllegalArgumentException("a reward normalisation needs a positive scale, got " + scale);
    }
  }

  @Override
  public double[] apply(double[] scores) {
    return on ? Arrays.stream(scores).map(v -> (v - shift) / scale).toArray() : scores;
  }

  public static Normalization of(CampaignAssets assets) {
    return assets.getNormalize() ? new Normalization(true, assets.getNormalizeShift(), assets.getNormalizeScale())
        : NONE;
  }

  public CampaignAssets.Builder into(CampaignAssets.Builder assets) {
    return assets.setNormalize(on).setNormalizeShift(shift).setNormalizeScale(scale);
  }
}

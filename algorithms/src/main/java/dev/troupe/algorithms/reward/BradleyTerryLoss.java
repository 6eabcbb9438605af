package dev.troupe.algorithms.reward;

import dev.troupe.algorithms.metrics.MetricNames;
import ai.djl.ndarray.NDArray;
import ai.djl.nn.Activation;
import java.util.LinkedHashMap;
import java.util.Map;
import dev.troupe.model.autograd.Ops;

/**
 * The pairwise reward-model loss of the Bradley–Terry preference model (Bradley &amp; Terry 1952,
 * as in Ouyang et al. 2022, InstructGPT), with Llama 2's margin (Touvron et al. 2023, eq. 2):
 * <pre>
 *   loss = −log σ(r(x, y_c) − r(x, y_r) − m(r))
 * </pre>
 * averaged over pairs, where m ≥ 0 grows with how strongly the rater preferred y_c (0 = plain BT).
 * For an ensemble ([B, K] rewards) every member gets its own loss and the loss is their mean, so
 * each head is trained as if it were alone.
 */
public final class BradleyTerryLoss {
  private BradleyTerryLoss() {}

  /**
   * The loss to back-propagate and what to log about the batch. Reward metrics are of the
   * ensemble's mean reward (the reward a caller of {@link RewardModel#score} sees).
   *
   * @param loss the scalar to back-propagate (the centring term included, when asked for)
   * @param lossValue the same, as a number
   * @param accuracy fraction of pairs with r_c &gt; r_r (a tie counts as wrong)
   * @param chosen mean reward of the chosen responses
   * @param rejected mean reward of the rejected responses
   * @param margins mean of r_c − r_r
   */
  public record Output(NDArray loss, double lossValue, double accuracy, double chosen, double rejected,
      double margins) {

    /** The metrics under the names every trainer of the project logs. */
    public Map<String, Double> metrics() {
      Map<String, Double> out = new LinkedHashMap<>();
      out.put(MetricNames.LOSS, lossValue);
      out.put(MetricNames.ACCURACY, accuracy);
      out.put(MetricNames.REWARDS_CHOSEN, chosen);
      out.put(MetricNames.REWARDS_REJECTED, rejected);
      out.put(MetricNames.REWARDS_MARGINS, margins);
      return out;
    }
  }

  /**
   * −mean log σ(r_c − r_r − m) for rewards [B] (or [B, K]) of the chosen and rejected responses and
   * margins [B] (null = all 0).
   */
  public static Output compute(NDArray chosenScores, NDArray rejectedScores, NDArray margins) {
    return compute(chosenScores, rejectedScores, margins, null, 0);
  }

  /**
   * {@link #compute(NDArray, NDArray, NDArray)} with a weight per pair and member and a centring term.
   *
   * <p>{@code weights}, [B] or [B, K] like the rewards (null = all 1), make each member's loss its
   * weighted mean over pairs, Σ w·ℓ / Σ w, and the loss the mean over members. Integer weights are
   * bootstrap counts: a pair drawn twice into a member's resample counts twice, one not drawn not
   * at all.
   *
   * <p>{@code centerCoefficient} λ adds λ·mean((r_c + r_r)²) (Eisenstein et al. 2023, "Helping or
   * Herding? Reward Model Ensembles Mitigate but do not Eliminate Reward Hacking"; TRL's
   * {@code center_rewards_coefficient}, suggested 0.01). The BT loss alone is blind to adding a
   * constant to every reward, so each member drifts to its own offset and an ensemble's spread
   * measures those offsets rather than disagreement; the term pins every member's mean reward on
   * the training pairs near 0. 0 = plain BT.
   */
  public static Output compute(NDArray chosenScores, NDArray rejectedScores, NDArray margins,
      NDArray weights, double centerCoefficient) {
    if (!(centerCoefficient >= 0)) {
      throw new IllegalArgumentException("centerCoefficient must be >= 0, got " + centerCoefficient);
    }
    if (!chosenScores.getShape().equals(rejectedScores.getShape())) {
      throw new IllegalArgumentException("chosen " + chosenScores.getShape() + " and rejected "
          + rejectedScores.getShape() + " rewards differ in shape");
    }
    int dims = chosenScores.getShape().dimension();
    if (dims != 1 && dims != 2) {
      throw new IllegalArgumentException("rewards must be [B] or [B, K], got " + chosenScores.getShape());
    }
    if (weights != null && !weights.getShape().equals(chosenScores.getShape())) {
      throw new IllegalArgumentException("weights " + weights.getShape() + " must match the rewards "
          + chosenScores.getShape());
    }
    long b = chosenScores.getShape().get(0);
    NDArray diff = chosenScores.sub(rejectedScores);
    if (margins != null) {
      if (margins.getShape().dimension() != 1 || margins.getShape().get(0) != b) {
        throw new IllegalArgumentException("margins must be [" + b + "], got " + margins.getShape());
      }
      diff = diff.sub(dims == 2 ? margins.reshape(b, 1) : margins);
    }
    // −log σ(d) = softplus(−d), which torch computes without overflow for any d.
    NDArray perPair = Activation.softPlus(diff.neg());
    NDArray loss = weightedMean(perPair, weights);
    if (centerCoefficient > 0) {
      NDArray centring = weightedMean(chosenScores.add(rejectedScores).square(), weights);
      loss = loss.add(Ops.mul(centring, centerCoefficient));
    }
    return metrics(loss, chosenScores, rejectedScores);
  }

  /** Mean over pairs per member (weighted), then over members. */
  private static NDArray weightedMean(NDArray values, NDArray weights) {
    if (weights == null) {
      return values.mean();
    }
    // A member that drew no pair of this batch contributes 0 (Σw clamped to 1), not NaN.
    return values.mul(weights).sum(new int[] {0}).div(Ops.maximum(weights.sum(new int[] {0}), 1)).mean();
  }

  private static Output metrics(NDArray loss, NDArray chosenScores, NDArray rejectedScores) {
    long b = chosenScores.getShape().get(0);
    int k = chosenScores.getShape().dimension() == 2 ? Math.toIntExact(chosenScores.getShape().get(1)) : 1;
    float[] c = chosenScores.toFloatArray();
    float[] r = rejectedScores.toFloatArray();
    double sumChosen = 0;
    double sumRejected = 0;
    int correct = 0;
    for (int i = 0; i < b; i++) {
      double ci = 0;
      double ri = 0;
      for (int j = 0; j < k; j++) {
        ci += c[i * k + j];
        ri += r[i * k + j];
      }
      ci /= k;
      ri /= k;
      sumChosen += ci;
      sumRejected += ri;
      correct += ci > ri ? 1 : 0;
    }
    double chosen = sumChosen / b;
    double rejected = sumRejected / b;
    return new Output(loss, loss.getFloat(), (double) correct / b, chosen, rejected, chosen - rejected);
  }
}

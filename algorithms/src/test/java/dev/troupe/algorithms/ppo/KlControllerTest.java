package dev.troupe.algorithms.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.algorithms.ppo.KlController.AdaptiveKl;
import dev.troupe.algorithms.ppo.KlController.FixedKl;
import org.junit.jupiter.api.Test;

class KlControllerTest {

  @Test
  void adaptiveBetaFollowsZieglersClippedProportionalRule() {
    AdaptiveKl kl = new AdaptiveKl(0.2, 6.0, 10_000);
    double beta = 0.2;

    kl.update(9.0, 256); // KL 50 % above target: error clipped to +0.2
    beta *= 1 + 0.2 * 256 / 10_000.0;
    assertEquals(beta, kl.beta(), 1e-15);

    kl.update(6.6, 256); // 10 % above: error 0.1
    beta *= 1 + 0.1 * 256 / 10_000.0;
    assertEquals(beta, kl.beta(), 1e-15);

    kl.update(3.0, 512); // 50 % below: error clipped to −0.2
    beta *= 1 - 0.2 * 512 / 10_000.0;
    assertEquals(beta, kl.beta(), 1e-15);

    kl.update(6.0, 1000); // on target: unchanged
    assertEquals(beta, kl.beta(), 1e-15);
    assertEquals(0.2 * 1.00512 * 1.00256 * 0.98976, kl.beta(), 1e-12);
  }

  @Test
  void aWholeHorizonAtTheClipRaisesBetaByTwentyPercent() {
    AdaptiveKl kl = new AdaptiveKl(0.05, 6.0, 1000);
    kl.update(100.0, 1000);
    assertEquals(0.06, kl.beta(), 1e-12);
  }

  @Test
  void fixedBetaIgnoresTheKl() {
    FixedKl kl = new FixedKl(0.05);
    kl.update(100.0, 10_000);
    assertEquals(0.05, kl.beta(), 0);
  }

  @Test
  void theConfigChoosesTheController() {
    assertInstanceOf(FixedKl.class, KlController.of(PpoConfig.defaults()));
    KlController adaptive = KlController.of(PpoConfig.defaults().withKlCoef(0.2).withAdaptiveKl(6.0, 10_000));
    assertInstanceOf(AdaptiveKl.class, adaptive);
    assertEquals(0.2, adaptive.beta(), 0);
    assertEquals(6.0, ((AdaptiveKl) adaptive).target(), 0);
  }

  @Test
  void aNonFiniteKlLeavesBetaAsItIsWhenOfferedAndUpdatesItWhenFinite() {
    KlController.AdaptiveKl controller = new AdaptiveKl(0.1, 6, 100);
    assertFalse(controller.updateIfFinite(Double.NaN, 8));
    assertFalse(controller.updateIfFinite(Double.POSITIVE_INFINITY, 8));
    assertEquals(0.1, controller.beta(), 0);
    assertTrue(controller.updateIfFinite(12, 8));
    assertEquals(0.1 * (1 + 0.2 * 8 / 100), controller.beta(), 1e-12, "KL twice the target: error clipped to 0.2");
  }

  @Test
  void rejectsANonFiniteKl() {
    assertThrows(IllegalArgumentException.class, () -> new AdaptiveKl(0.1, 6, 100).update(Double.NaN, 8));
  }
}

package dev.troupe.algorithms.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class PpoConfigTest {

  @Test
  void defaultsAreTrlsPpoConfig() {
    PpoConfig c = PpoConfig.defaults();
    assertEquals(1.0, c.gamma());
    assertEquals(0.95, c.lam());
    assertEquals(0.2, c.clipRange());
    assertEquals(0.2, c.clipRangeValue());
    assertEquals(0.1, c.vfCoef());
    assertEquals(0.0, c.entropyCoef());
    assertTrue(c.whitenAdvantages());
    assertFalse(c.whitenRewards());
    assertEquals(0.05, c.klCoef());
    assertNull(c.adaptiveKl());
    assertEquals(4, c.epochs());
    assertEquals(1, c.minibatches());
  }

  @Test
  void eachInvalidValueIsRejectedNamingItsKey() {
    assertRejected("gamma", () -> new PpoConfig(1.5, 0.95, 0.2, 0.2, 0.1, 0, true, false, 0.05, null, 4, 1));
    assertRejected("lam", () -> new PpoConfig(1, -0.1, 0.2, 0.2, 0.1, 0, true, false, 0.05, null, 4, 1));
    assertRejected("clipRange", () -> new PpoConfig(1, 0.95, 0, 0.2, 0.1, 0, true, false, 0.05, null, 4, 1));
    assertRejected("clipRangeValue",
        () -> new PpoConfig(1, 0.95, 0.2, Double.NaN, 0.1, 0, true, false, 0.05, null, 4, 1));
    assertRejected("vfCoef", () -> new PpoConfig(1, 0.95, 0.2, 0.2, -1, 0, true, false, 0.05, null, 4, 1));
    assertRejected("entropyCoef", () -> new PpoConfig(1, 0.95, 0.2, 0.2, 0.1, -0.01, true, false, 0.05, null, 4, 1));
    assertRejected("klCoef", () -> new PpoConfig(1, 0.95, 0.2, 0.2, 0.1, 0, true, false, -0.05, null, 4, 1));
    assertRejected("epochs", () -> new PpoConfig(1, 0.95, 0.2, 0.2, 0.1, 0, true, false, 0.05, null, 0, 1));
    assertRejected("minibatches", () -> new PpoConfig(1, 0.95, 0.2, 0.2, 0.1, 0, true, false, 0.05, null, 4, 0));
    assertRejected("adaptiveKl.target", () -> PpoConfig.defaults().withAdaptiveKl(0, 10_000));
    assertRejected("adaptiveKl.horizon", () -> PpoConfig.defaults().withAdaptiveKl(6, 0));
    assertRejected("klCoef", () -> PpoConfig.defaults().withKlCoef(0).withAdaptiveKl(6, 10_000));
  }

  private static void assertRejected(String key, Executable build) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, build);
    assertTrue(e.getMessage().startsWith(key + " "), "message should name " + key + ": " + e.getMessage());
  }
}

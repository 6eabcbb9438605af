package dev.troupe.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

/** `troupe.policy-worker.batching`: per-request unless set to merge; anything else names the key. */
class BatchingSettingTest {
  @Test
  void perRequestByDefaultMergeWhenSetAndAnUnknownValueNamesTheKey() {
    assertEquals(PolicyService.Batching.PER_REQUEST, PolicyService.Batching.of(ConfigFactory.load()));
    assertEquals(PolicyService.Batching.MERGE_WAITING, PolicyService.Batching.of(
        ConfigFactory.parseString("troupe.policy-worker.batching = merge").withFallback(ConfigFactory.load())));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PolicyService.Batching.of(
        ConfigFactory.parseString("troupe.policy-worker.batching = always").withFallback(ConfigFactory.load())));
    assertTrue(e.getMessage().contains("troupe.policy-worker.batching") && e.getMessage().contains("always"),
        e.getMessage());
  }
}

package dev.troupe.feedback;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.troupe.feedback.bench.UiLoad;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Fifty simulated raters at once on loopback lose and duplicate no label. A few seconds here; with
 * TROUPE_BENCH=1 the benchmark's 60 s whose figures BENCHMARKS.md records (no assertion on speed).
 */
class UiLoadTest {
  @TempDir Path dir;

  @Test
  void fiftyRatersAtOnceLoseAndDuplicateNoLabel() throws Exception {
    boolean bench = "1".equals(System.getenv("TROUPE_BENCH"));
    UiLoad.Result r = UiLoad.run(dir.resolve("load"), 50, bench ? 60 : 3, bench ? 400 : 60);
    LoggerFactory.getLogger(UiLoadTest.class).info("UI load: {}", UiLoad.summary(r));
    System.out.println("UI load: " + UiLoad.summary(r));
    assertTrue(r.acknowledged() > 50, "every rater labelled something: " + r);
    assertEquals(r.acknowledged(), r.distinctAcknowledged(), "each acknowledgement a distinct label");
    assertEquals(r.acknowledged(), r.stored(), "the store holds exactly the acknowledged labels");
    assertEquals(r.retries(), r.retriesAnsweredWithTheSameId(), "a retried click gets its label back, not a new one");
    assertEquals(0, r.errors(), r.toString());
  }
}

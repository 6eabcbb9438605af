package dev.troupe.policy.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.troupe.model.config.ModelConfig;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The data-plane benchmark on a tiny shape reports every figure with the right accounting (speeds are
 * printed, never asserted); with TROUPE_BENCH=1 it also runs on the bench-15m shape and logs the figures.
 */
class DataPlaneBenchmarkTest {
  private static final Logger LOG = LoggerFactory.getLogger(DataPlaneBenchmarkTest.class);

  static final List<String> RATIOS = List.of("mixed_adapter_batch_ratio", "mixed_adapter_batch_ratio_segmented",
      "mixed_adapter_batch_ratio_gathered", "mixed_over_per_adapter_batches", "rollouts_per_s_grpc_over_inprocess");

  @Test
  void everyFigureIsReportedAndTheAdapterBytesAreAccountedAgainstTheWholeFp32Base() {
    DataPlaneBenchmark.Settings tiny = DataPlaneBenchmark.Settings.tiny();
    Map<String, Object> figures = new DataPlaneBenchmark(tiny, step -> { }).run();
    for (String ratio : RATIOS) {
      double value = ((Number) figures.get(ratio)).doubleValue();
      assertTrue(value > 0 && Double.isFinite(value), ratio + " = " + value);
    }
    double p50 = ((Number) figures.get("adapter_publish_p50_ms")).doubleValue();
    double p95 = ((Number) figures.get("adapter_publish_p95_ms")).doubleValue();
    assertTrue(p50 > 0 && p50 <= p95, "p50 " + p50 + " ms, p95 " + p95 + " ms");

    ModelConfig c = tiny.config();
    long hidden = c.hiddenSize();
    long kv = (long) c.numKvHeads() * c.headDim();
    long perLayer = 2 * hidden * hidden + 2 * hidden * kv + 3 * hidden * c.intermediateSize() + 2 * hidden;
    long params = c.numLayers() * perLayer + hidden + 2L * c.vocabSize() * hidden; // untied head
    assertEquals(4 * params, ((Number) figures.get("base_model_bytes")).longValue(), "fp32 bytes of every weight");
    // Rank 8 on q and v: A [8, hidden] and B [out, 8] per projection per layer, fp32, plus names and checksums.
    long loraBytes = 4L * c.numLayers() * (8 * hidden + hidden * 8 + 8 * hidden + kv * 8);
    long sent = ((Number) figures.get("adapter_bytes_per_publish")).longValue();
    assertTrue(sent > loraBytes && sent < loraBytes + 8192, "sent " + sent + " bytes for " + loraBytes + " of tensors");
    assertEquals(sent / (double) (4 * params), ((Number) figures.get("adapter_bytes_fraction")).doubleValue(), 1e-4);
  }

  @Test
  @Tag("benchmark")
  @EnabledIfEnvironmentVariable(named = "TROUPE_BENCH", matches = "1")
  void bench15m() throws Exception {
    Map<String, Object> figures = new DataPlaneBenchmark(DataPlaneBenchmark.Settings.bench15m(), LOG::info).run();
    LOG.info("data-plane benchmark: {}", new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(figures));
  }
}

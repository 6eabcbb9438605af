package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The benchmark harness itself, on a tiny shape: every figure present and physically sensible (no speed bars). */
class BenchCommandTest {
  @Test
  void tinyModelBenchPrintsEveryFigureAndAFinalJsonLine() throws Exception {
    Object[] result = ModelCommandTest.troupe("bench", "model", "--tiny", "--json");
    assertEquals(0, result[0], (String) result[2]);
    String[] lines = ((String) result[1]).strip().split("\n");
    JsonNode figures = new ObjectMapper().readTree(lines[lines.length - 1]);
    for (String key : List.of("roofline_gflops", "mem_bandwidth_gbs", "train_tokens_per_s", "train_mfu",
        "full_train_mfu", "decode_b1_tokens_per_s", "decode_b16_tokens_per_s", "kv_cache_speedup",
        "decode_b1_bw_fraction", "lora_trainable_fraction", "nf4_base_bytes_fraction")) {
      assertTrue(figures.has(key), "missing " + key);
      assertTrue(figures.get(key).asDouble() > 0, key + " = " + figures.get(key));
    }
    // Ratios of counts, not timings: fixed by the shape. Tiny: LoRA r=8 on q (64 -> 64) and v
    // (64 -> 32: 2 kv heads of 16) in each of 2 layers.
    assertEquals(2 * ((8 * 64 + 64 * 8) + (8 * 64 + 32 * 8)) / (double) figures.get("params_non_embedding").asLong(),
        figures.get("lora_trainable_fraction").asDouble(), 1e-12);
    double nf4 = figures.get("nf4_base_bytes_fraction").asDouble();
    assertTrue(nf4 > 0.125 && nf4 < 0.16, "nf4 fraction " + nf4);
  }

  @Test
  void tinyAlgorithmsBenchReportsEveryPhaseOfAPpoIterationAndADpoStep() throws Exception {
    Object[] result = ModelCommandTest.troupe("bench", "algorithms", "--tiny", "--json");
    assertEquals(0, result[0], (String) result[2]);
    String[] lines = ((String) result[1]).strip().split("\n");
    JsonNode figures = new ObjectMapper().readTree(lines[lines.length - 1]);
    for (String key : List.of("roofline_gflops", "ppo_iteration_s", "ppo_generate_s", "ppo_score_s",
        "ppo_reference_s", "ppo_update_s", "ppo_generate_tokens_per_s", "ppo_update_tokens_per_s", "dpo_step_s",
        "dpo_reference_s", "dpo_update_s")) {
      assertTrue(figures.has(key), "missing " + key);
      assertTrue(figures.get(key).asDouble() > 0, key + " = " + figures.get(key));
    }
    // Timings and the MFU derived from them are measurements, not asserted beyond being present and
    // positive (a phase that was never timed reads 0); the batch is fixed by the tiny shape.
    for (String key : List.of("ppo_generate_mfu", "ppo_score_mfu", "ppo_reference_mfu", "ppo_update_mfu",
        "dpo_reference_mfu", "dpo_update_mfu", "dpo_step_mfu")) {
      assertTrue(figures.has(key), "missing " + key);
      assertTrue(figures.get(key).asDouble() > 0, key + " = " + figures.get(key));
    }
    assertEquals(2, figures.get("batch").asInt());
  }
}

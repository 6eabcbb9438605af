package dev.troupe.algorithms.dpo;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.algorithms.Fixtures;
import dev.troupe.algorithms.metrics.MetricNames;
import dev.troupe.algorithms.metrics.Metrics;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import dev.troupe.model.transformer.CausalLm;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The phase timings a DPO step reports (what `troupe bench algorithms` reads); no speed bars. */
class DpoTrainerTimingTest {
  @Test
  void referenceAndUpdateAreTimedAndAddUpToAtMostTheStep() {
    try (NDManager root = NDManager.newBaseManager(); CausalLm model = CausalLm.random(Fixtures.tinyLlama(258), 1, root)) {
      Adapter adapter = model.createAdapter("dpo", LoraConfig.of(8, 16, "q", "v"), 2);
      List<DpoExample> pairs = List.of(new DpoExample(new long[] {256, 113}, new long[] {121, 257}, new long[] {110, 257}),
          new DpoExample(new long[] {256, 114, 115}, new long[] {116, 117, 257}, new long[] {118, 257}));
      try (DpoTrainer trainer = new DpoTrainer(model, adapter, DpoConfig.defaults(), 1e-3, 1.0)) {
        Metrics m = trainer.step(pairs, 1e-3);
        double reference = m.get(MetricNames.TIME_REFERENCE);
        double update = m.get(MetricNames.TIME_UPDATE);
        double step = m.get(MetricNames.TIME_STEP);
        assertTrue(reference >= 0 && update >= 0 && step > 0, m.toString());
        assertTrue(reference + update <= step + 1e-6, "phases " + (reference + update) + " s > step " + step + " s");
      }
    }
  }
}

package dev.troupe.model.transformer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.generate.Generator;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.generate.SamplingParams;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.LoraConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A campaign runs for days: every request and training step must leave the model's and the
 * adapter's managers exactly as it found them.
 */
class NoLeakTest {

  @Test
  void repeatedGenerationScoringAndAdapterStepsLeaveEveryLongLivedManagerTheSameSize() {
    try (NDManager root = NDManager.newBaseManager(); CausalLm model = CausalLm.random(TinyModels.llama(), 2, root)) {
      Adapter adapter = model.createAdapter("a", LoraConfig.of(4, 8, "q", "v", "down").withDora(true), 1);
      Generator generator = new Generator(model, null);
      List<long[]> prompts = List.of(new long[] {1, 2, 3}, new long[] {4, 5});
      Runnable round = () -> {
        generator.generateIds(prompts, adapter, SamplingParams.sample(6, 1.0, 3).withTopP(0.9));
        LogProbs.score(model, prompts, List.of(new long[] {7, 8}, new long[] {9}), null, 1.0);
        adapter.setTrainable(true);
        try (NDManager step = root.newSubManager(); GradMode ignored = GradMode.enabled()) {
          Batch batch = Batch.rightPadded(step, prompts);
          NDArray loss = model.forward(batch.ids(), batch.mask(), adapter, true).square().mean();
          GradMode.backward(loss);
        }
        try (GradMode ignored = GradMode.disabled(); NDManager update = root.newSubManager()) {
          for (NDArray p : adapter.parameters()) {
            NDArray g = p.getGradient(); // a new handle in p's manager: move it to the step's
            g.attach(update);
            p.subi(g.mul(1e-3));
            GradMode.zeroGradient(p);
          }
        }
        adapter.setTrainable(false);
      };
      round.run(); // first use may create lazily cached state
      int modelArrays = model.manager().getManagedArrays().size();
      int adapterArrays = adapter.manager().getManagedArrays().size();
      int rootArrays = root.getManagedArrays().size();
      for (int i = 0; i < 30; i++) {
        round.run();
      }
      assertEquals(modelArrays, model.manager().getManagedArrays().size(), "arrays in the model's manager");
      assertEquals(adapterArrays, adapter.manager().getManagedArrays().size(), "arrays in the adapter's manager");
      assertEquals(rootArrays, root.getManagedArrays().size(), "arrays in the root manager");
    }
  }
}

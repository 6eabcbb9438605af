package dev.troupe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import dev.troupe.cli.demo.AdapterDemo;
import dev.troupe.model.autograd.GradMode;
import dev.troupe.model.generate.LogProbs;
import dev.troupe.model.hf.HfModel;
import dev.troupe.model.lora.Adapter;
import dev.troupe.model.lora.PeftAdapters;
import dev.troupe.model.tokenizer.Tokenizer;
import dev.troupe.model.transformer.CausalLm;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoCommandTest {
  @TempDir Path dir;

  @Test
  void demoAdapterMakesThePoliteAnswerLikelyWhileTheBaseStaysCurtAndSavedFoldersReload() throws Exception {
    AdapterDemo.Result r = new AdapterDemo(150, 100, 1).run(dir, (phase, loss) -> { });
    assertTrue(r.baseLossEnd() < 0.2, "base loss " + r.baseLossEnd());
    assertTrue(r.adapterLossEnd() < 0.1, "adapter loss " + r.adapterLossEnd());
    // Held-out questions: the polite answer's mean token log-prob rises by > 3 nats with the adapter.
    assertTrue(r.politeLogProbAdapter() - r.politeLogProbBase() > 3,
        "base " + r.politeLogProbBase() + ", adapter " + r.politeLogProbAdapter());
    for (String[] row : r.heldOut()) {
      assertEquals("no.", row[1], "the base (adapter off) answers " + row[0]);
    }
    // The written HF base and PEFT adapter reload and give the same polite log-probs.
    try (NDManager root = NDManager.newBaseManager();
        Tokenizer tokenizer = Tokenizer.load(dir.resolve("base/tokenizer.json"));
        CausalLm base = HfModel.load(dir.resolve("base"), HfModel.LoadOptions.defaults(), root);
        GradMode ignored = GradMode.disabled()) {
      Adapter polite = base.register(PeftAdapters.load(dir.resolve("adapters/polite"), "polite", base));
      long[] prompt = tokenizer.encode("\n\nHuman: is the shop open?\n\nAssistant:");
      long[] withBos = new long[prompt.length + 1];
      withBos[0] = tokenizer.bosId().orElseThrow();
      System.arraycopy(prompt, 0, withBos, 1, prompt.length);
      long[] answer = tokenizer.encode(" of course, friend! happy to help.");
      float[] lp = LogProbs.score(base, List.of(withBos), List.of(answer), polite, 1.0).get(0);
      double mean = 0;
      for (float v : lp) {
        mean += v / lp.length;
      }
      assertTrue(mean > -1.0, "reloaded adapter mean log-prob " + mean);
    }
  }
}
